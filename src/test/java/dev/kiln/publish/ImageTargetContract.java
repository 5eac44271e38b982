package dev.kiln.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/**
 * What every image target does, run against each adapter (the local layout, an OCI registry, ECR):
 * push under a tag, say what a tag holds, read back the exact bytes, attach and list referrers, list
 * the repository's images, and delete an image with everything that refers to it.
 */
public abstract class ImageTargetContract {

    private static final AtomicInteger REPOSITORIES = new AtomicInteger();

    /** The adapter under test. */
    protected abstract ImageTarget target();

    /** Whether the target records when an image was pushed (a registry's API does not say). */
    protected abstract boolean knowsPushTimes();

    /** Whether the target's own record (not the registry's) still lists {@code digest} in {@code repository}. */
    protected boolean recorded(String repository, String digest) {
        return target().images(repository).stream().anyMatch(i -> i.digest().equals(digest))
                || target().manifest(repository, digest).isPresent();
    }

    protected String newRepository() {
        return "contract/r" + REPOSITORIES.incrementAndGet() + "-" + System.nanoTime() % 100000;
    }

    /** A small image: a config and two gzip layers with content unique to {@code seed}. */
    public static Manifest image(long seed) {
        Random random = new Random(seed);
        Blob config = Blob.of(Manifest.OCI_CONFIG, ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
                + "\"seed\":" + seed + "}").getBytes(StandardCharsets.UTF_8));
        return Manifest.image(config, List.of(layer(random), layer(random)), Map.of("dev.kiln.stack", "contract"));
    }

    private static Blob layer(Random random) {
        byte[] raw = new byte[4096 + random.nextInt(4096)];
        random.nextBytes(raw);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
            gzip.write(raw);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return Blob.of(Manifest.OCI_LAYER_GZIP, bytes.toByteArray());
    }

    static Manifest signatureFor(Manifest subject, String text) {
        return Manifest.artifact("application/vnd.dev.sigstore.bundle.v0.3+json",
                List.of(Blob.of("application/vnd.dev.sigstore.bundle.v0.3+json", text.getBytes(StandardCharsets.UTF_8))),
                subject.descriptor(), Map.of("dev.sigstore.bundle.content", "message-signature"));
    }

    @Test
    void aPushedTagHoldsTheDigestAndReadsBackTheExactBytes() throws IOException {
        String repository = newRepository();
        Manifest image = image(1);
        Instant before = Instant.now();
        assertThat(target().tagged(repository, "1.0")).isEmpty();
        ImageTarget.Pushed pushed = target().push(repository, image, List.of("1.0"));
        assertThat(pushed.digest()).isEqualTo(image.digest());
        assertThat(target().tagged(repository, "1.0")).contains(image.digest());
        assertThat(target().manifest(repository, "1.0")).get().satisfies(m -> assertThat(m.bytes()).isEqualTo(image.bytes()));
        Blob layer = image.blobs().get(1);
        try (InputStream in = target().blob(repository, layer.digest(), layer.size())) {
            assertThat(Digests.sha256(in.readAllBytes())).isEqualTo(layer.digest());
        }
        assertThat(target().images(repository)).singleElement().satisfies(i -> {
            assertThat(i.digest()).isEqualTo(image.digest());
            assertThat(i.tags()).containsExactly("1.0");
            if (knowsPushTimes()) {
                // retention counts days from it (whole seconds at ECR)
                assertThat(i.pushedAt()).get().satisfies(t -> assertThat(t).isBetween(before.minusSeconds(2), Instant.now().plusSeconds(2)));
            } else {
                assertThat(i.pushedAt()).isEmpty();
            }
            if (!target().pullTimesKnown()) {
                assertThat(i.lastPulled()).as("no pull time where the target keeps none").isEmpty();
            }
        });
    }

    @Test
    void aSecondPushOfTheSameImageUploadsNothing() {
        String repository = newRepository();
        Manifest image = image(2);
        ImageTarget.Pushed first = target().push(repository, image, List.of("a"));
        assertThat(first.uploaded()).isEqualTo(3);
        ImageTarget.Pushed second = target().push(repository, image, List.of("b"));
        assertThat(second.uploaded()).isZero();
        assertThat(second.present()).isEqualTo(3);
        assertThat(target().tagged(repository, "b")).contains(image.digest());
    }

    @Test
    void attachedArtifactsAreItsReferrersAndAreDeletedWithIt() {
        String repository = newRepository();
        Manifest image = image(3);
        Manifest other = image(4);
        target().push(repository, image, List.of("1.0"));
        target().push(repository, other, List.of("2.0"));
        Manifest signature = signatureFor(image, "signature of image 3");
        Manifest attestation = signatureFor(image, "attestation of image 3");
        target().attach(repository, signature);
        target().attach(repository, attestation);
        target().attach(repository, signatureFor(other, "signature of image 4"));
        assertThat(target().referrers(repository, image.digest())).extracting(Descriptor::digest)
                .containsExactlyInAnyOrder(signature.digest(), attestation.digest());
        assertThat(target().referrers(repository, image.digest())).allSatisfy(d ->
                assertThat(d.artifactType()).isEqualTo("application/vnd.dev.sigstore.bundle.v0.3+json"));
        assertThat(target().images(repository)).extracting(ImageTarget.Listed::digest)
                .as("referrers and their fallback tags are not images").containsExactlyInAnyOrder(image.digest(), other.digest());

        assertThat(target().delete(repository, List.of(image.digest()))).isEmpty();
        assertThat(recorded(repository, image.digest())).isFalse();
        assertThat(recorded(repository, signature.digest())).as("its signature went with it").isFalse();
        assertThat(recorded(repository, attestation.digest())).as("its attestation went with it").isFalse();
        assertThat(recorded(repository, other.digest())).as("another image stays").isTrue();
        assertThat(target().referrers(repository, other.digest())).hasSize(1);
        assertThat(target().delete(repository, List.of(image.digest()))).as("deleting what is gone is no error").isEmpty();
    }

    /** An image index over two platform images, as a stack of two architectures publishes it. */
    static Manifest index(Manifest amd64, Manifest arm64) {
        return Manifest.index(List.of(amd64, arm64), List.of(Descriptor.Platform.linux("amd64"), Descriptor.Platform.linux("arm64")),
                Map.of("dev.kiln.stack", "contract"));
    }

    @Test
    void anIndexIsPushedWithItsPlatformImagesAndReadsBackByTagAndByDigest() {
        String repository = newRepository();
        Manifest amd64 = image(1020);
        Manifest arm64 = image(1021);
        Manifest index = index(amd64, arm64);
        ImageTarget.Pushed pushed = target().push(repository, index, List.of("1.0"));
        assertThat(pushed.digest()).isEqualTo(index.digest());
        assertThat(pushed.uploaded()).as("each platform's config and two layers").isEqualTo(6);
        assertThat(target().tagged(repository, "1.0")).contains(index.digest());
        Manifest read = target().manifest(repository, "1.0").orElseThrow();
        assertThat(read.bytes()).isEqualTo(index.bytes());
        assertThat(read.mediaType()).isEqualTo(Manifest.OCI_INDEX);
        assertThat(read.children()).containsExactly(amd64.digest(), arm64.digest());
        for (Manifest platform : List.of(amd64, arm64)) {
            assertThat(target().manifest(repository, platform.digest())).get().satisfies(m -> assertThat(m.bytes()).isEqualTo(platform.bytes()));
        }
        assertThat(target().images(repository)).as("platform images are not images of their own")
                .singleElement().satisfies(i -> {
                    assertThat(i.digest()).isEqualTo(index.digest());
                    assertThat(i.tags()).containsExactly("1.0");
                });
    }

    @Test
    void anIndexIsDeletedWithThePlatformImagesNoOtherIndexListsAndTheirReferrers() {
        String repository = newRepository();
        Manifest amd64 = image(1030);
        Manifest arm64 = image(1031);
        Manifest arm64Updated = image(1032);
        Manifest first = index(amd64, arm64);
        Manifest second = index(amd64, arm64Updated);
        target().push(repository, first, List.of("1.0"));
        // an update of one platform: the other platform's image is the same, nothing of it is uploaded again
        ImageTarget.Pushed again = target().push(repository, second, List.of("2.0"));
        assertThat(again.uploaded()).isEqualTo(3);
        assertThat(again.present()).isEqualTo(3);
        Manifest indexSignature = signatureFor(first, "signature of index 1");
        Manifest platformSignature = signatureFor(arm64, "signature of arm64 image 31");
        Manifest sharedSignature = signatureFor(amd64, "signature of amd64 image 30");
        target().attach(repository, indexSignature);
        target().attach(repository, platformSignature);
        target().attach(repository, sharedSignature);
        assertThat(target().referrers(repository, arm64.digest())).extracting(Descriptor::digest).containsExactly(platformSignature.digest());

        assertThat(target().delete(repository, List.of(first.digest()))).isEmpty();
        assertThat(recorded(repository, first.digest())).isFalse();
        assertThat(recorded(repository, indexSignature.digest())).as("the index's signature went with it").isFalse();
        assertThat(recorded(repository, arm64.digest())).as("its own platform image went with it").isFalse();
        assertThat(recorded(repository, platformSignature.digest())).as("and that image's signature").isFalse();
        assertThat(recorded(repository, amd64.digest())).as("the platform image the other index lists stays").isTrue();
        assertThat(recorded(repository, sharedSignature.digest())).as("with its signature").isTrue();
        assertThat(target().tagged(repository, "2.0")).contains(second.digest());
        assertThat(target().manifest(repository, amd64.digest())).isPresent();

        assertThat(target().delete(repository, List.of(second.digest()))).isEmpty();
        assertThat(recorded(repository, amd64.digest())).as("now no index lists it").isFalse();
        assertThat(recorded(repository, arm64Updated.digest())).isFalse();
        assertThat(recorded(repository, sharedSignature.digest())).isFalse();
    }
}
