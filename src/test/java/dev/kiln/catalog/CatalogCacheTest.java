package dev.kiln.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CatalogCacheTest {

    private static final String STACK = CatalogTest.VALID;

    @TempDir
    Path dir;
    CatalogCache cache;

    @BeforeEach
    void catalog() throws IOException {
        Files.createDirectories(dir.resolve("keys"));
        Files.copy(Path.of("catalog/keys/debian-trixie.gpg"), dir.resolve("keys/test.gpg"));
        Files.writeString(dir.resolve("a.yaml"), STACK);
        cache = new CatalogCache(dir, Catalog.Rules.DEFAULT);
    }

    /** Past the quarter second within which the cache does not look at the files. */
    private static void later() throws InterruptedException {
        Thread.sleep(300);
    }

    @Test
    void anUnchangedCatalogIsNotReadAgain() throws Exception {
        Catalog first = cache.current();
        assertThat(cache.current()).isSameAs(first);
        later();
        assertThat(cache.current()).isSameAs(first);
        assertThat(first.stack("a")).isPresent();
    }

    @Test
    void anEditedAddedOrRemovedStackIsSeen() throws Exception {
        Catalog first = cache.current();
        later();
        Files.writeString(dir.resolve("a.yaml"), STACK.replace("[tzdata]", "[tzdata, libc6]"));
        assertThat(cache.current().stack("a").orElseThrow().packages()).containsExactly("tzdata", "libc6");
        later();
        Files.writeString(dir.resolve("b.yaml"), STACK);
        assertThat(cache.current().stack("b")).isPresent();
        later();
        Files.delete(dir.resolve("a.yaml"));
        assertThat(cache.current().stack("a")).isEmpty();
        assertThat(cache.current()).isNotSameAs(first);
    }

    @Test
    void aCatalogReachedThroughALinkIsWatchedAtItsTarget() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolveSibling(dir.getFileName() + "-link"), dir);
        try {
            CatalogCache linked = new CatalogCache(link, Catalog.Rules.DEFAULT);
            assertThat(linked.current().stack("a")).isPresent();
            later();
            Files.writeString(dir.resolve("c.yaml"), STACK);
            assertThat(linked.current().stack("c")).isPresent();
        } finally {
            Files.delete(link);
        }
    }

    @Test
    void aKeyringThatGoesAwayMakesItsStacksInvalid() throws Exception {
        assertThat(cache.current().stack("a")).isPresent();
        later();
        Files.delete(dir.resolve("keys/test.gpg"));
        assertThat(cache.current().stack("a")).isEmpty();
        assertThat(cache.current().problems("a").toString()).contains("source.keyring");
    }
}
