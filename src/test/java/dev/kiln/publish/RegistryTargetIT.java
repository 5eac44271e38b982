package dev.kiln.publish;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.testing.TestRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The OCI registry adapter against Debian's docker-registry (CNCF distribution 2.8, no referrers API). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryTargetIT extends ImageTargetContract {

    private TestRegistry registry;
    private RegistryTarget target;
    private Path tmp;

    @BeforeAll
    void start(@TempDir Path dir) {
        tmp = dir;
        registry = new TestRegistry(dir);
        target = new RegistryTarget(registry.address(), registry.address(), "", true, RegistryLogin.NONE,
                new BlobLocations(dir.resolve("registry-blobs")));
    }

    @AfterAll
    void stop() {
        registry.close();
    }

    @Override
    protected boolean knowsPushTimes() {
        return false;
    }

    @Override
    protected ImageTarget target() {
        return target;
    }

    @Test
    void aPushToAnotherRepositoryMountsTheBlobsTheRegistryHasInsteadOfUploadingThem() {
        Manifest first = image(30);
        Blob shared = first.blobs().get(1);
        Manifest second = Manifest.image(Blob.of(Manifest.OCI_CONFIG, "{\"second\":true}".getBytes(StandardCharsets.UTF_8)),
                List.of(shared, image(31).blobs().get(2)), Map.of());
        target.push("team-a/java", first, List.of("1"));
        int before = registry.requests().size();

        // a new process: what it knows of the registry comes from the data directory
        RegistryTarget fresh = new RegistryTarget(registry.address(), registry.address(), "", true, RegistryLogin.NONE,
                new BlobLocations(tmp.resolve("registry-blobs")));
        ImageTarget.Pushed pushed = fresh.push("team-b/java", second, List.of("1"));

        List<String> requests = registry.requests().subList(before, registry.requests().size());
        assertThat(pushed.mounted()).isEqualTo(1);
        assertThat(pushed.uploaded()).isEqualTo(2);
        assertThat(pushed.bytesUploaded()).isEqualTo(second.blobs().get(0).size() + second.blobs().get(2).size() + second.bytes().length);
        assertThat(requests).filteredOn(r -> r.startsWith("POST /v2/team-b/java/blobs/uploads/?mount")).containsExactly(
                "POST /v2/team-b/java/blobs/uploads/?mount 201");
        assertThat(requests).filteredOn(r -> r.startsWith("PATCH /v2/team-b/java/blobs/uploads/"))
                .as("uploads to team-b: its own config and layer, never the shared layer").hasSize(2);
        assertThat(target.tagged("team-b/java", "1")).contains(second.digest());
    }

    @Test
    void withoutAReferrersApiAttachingKeepsTheFallbackTagAnIndexOfTheReferrers() {
        Manifest image = image(40);
        target.push("fallback", image, List.of("1"));
        Manifest signature = signatureFor(image, "sig");
        target.attach("fallback", signature);
        String tag = "sha256-" + image.descriptor().hex();
        assertThat(registry.tags("fallback")).containsExactlyInAnyOrder("1", tag);
        Manifest index = target.manifest("fallback", tag).orElseThrow();
        assertThat(index.mediaType()).isEqualTo(Manifest.OCI_INDEX);
        assertThat(index.references()).singleElement().satisfies(d -> {
            assertThat(d.digest()).isEqualTo(signature.digest());
            assertThat(d.artifactType()).isEqualTo("application/vnd.dev.sigstore.bundle.v0.3+json");
            assertThat(d.annotations()).containsEntry("dev.sigstore.bundle.content", "message-signature");
        });
    }
}
