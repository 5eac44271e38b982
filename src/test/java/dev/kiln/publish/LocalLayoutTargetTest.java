package dev.kiln.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalLayoutTargetTest extends ImageTargetContract {

    @TempDir
    Path tmp;
    private LocalLayoutTarget target;

    @BeforeEach
    void open() {
        target = new LocalLayoutTarget(tmp.resolve("store"), Clock.systemUTC());
    }

    @Override
    protected boolean knowsPushTimes() {
        return true;
    }

    @Override
    protected ImageTarget target() {
        return target;
    }

    @Test
    void deletingAnImageRemovesTheBlobsNoOtherImageUses() throws Exception {
        Manifest a = image(10);
        Manifest b = image(11);
        target.push("x", a, List.of("a"));
        target.push("y", b, List.of("b"));
        target.attach("x", signatureFor(a, "sig"));
        long before;
        try (var files = Files.list(tmp.resolve("store/blobs/sha256"))) {
            before = files.count();
        }
        target.delete("x", List.of(a.digest()));
        try (var files = Files.list(tmp.resolve("store/blobs/sha256"))) {
            // a's manifest, config, two layers; the signature's manifest and bundle (the empty config is shared with nothing else)
            assertThat(files.count()).isEqualTo(before - 7);
        }
        assertThat(target.tagged("y", "b")).contains(b.digest());
    }

    @Test
    void aLayerFromTheLayerCacheIsLinkedNotCopied() throws Exception {
        Path cached = Files.createDirectories(tmp.resolve("cache")).resolve("layer");
        Files.write(cached, new byte[] {1, 2, 3});
        Blob layer = Blob.file(Manifest.OCI_LAYER_GZIP, Digests.sha256(new byte[] {1, 2, 3}), 3, cached);
        Manifest image = Manifest.image(Blob.of(Manifest.OCI_CONFIG, "{}".getBytes()), List.of(layer), java.util.Map.of());
        target.push("z", image, List.of("1"));
        Path stored = tmp.resolve("store/blobs/sha256").resolve(layer.descriptor().hex());
        assertThat(Files.isSameFile(stored, cached)).isTrue();
    }
}
