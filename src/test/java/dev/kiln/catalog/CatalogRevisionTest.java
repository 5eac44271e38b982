package dev.kiln.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog's commit and origin read from .git, and which origins may become an image's source label. */
class CatalogRevisionTest {

    @Test
    void onlyAUrlBecomesTheSourceAndNeverWithItsCredentialsQueryOrFragment() {
        assertThat(source("https://ci-bot:ghp_s3cret@git.example.com/platform/catalog.git?token=x#main"))
                .contains("https://git.example.com/platform/catalog.git");
        assertThat(source("ssh://git@git.example.com:2222/platform/catalog.git")).contains("ssh://git.example.com:2222/platform/catalog.git");
        assertThat(source("HTTPS://git.example.com/c")).contains("https://git.example.com/c");
        assertThat(source("git://git.example.com/c.git")).contains("git://git.example.com/c.git");
        // not URLs of a public source: a path on some machine, a file URL, scp-style, no host
        assertThat(source("/home/alice/src/catalog")).isEmpty();
        assertThat(source("../catalog.git")).isEmpty();
        assertThat(source("file:///srv/git/catalog.git")).isEmpty();
        assertThat(source("git@git.example.com:platform/catalog.git")).isEmpty();
        assertThat(source("https:///catalog")).isEmpty();
        assertThat(source("ftp://git.example.com/catalog")).isEmpty();
        assertThat(new CatalogRevision("abc", null).sourceUrl()).isEmpty();
    }

    @Test
    void theCommitAndOriginAreReadFromTheGitDirectoryAboveTheCatalog(@TempDir Path dir) throws Exception {
        Path git = Files.createDirectories(dir.resolve(".git/refs/heads"));
        Files.writeString(dir.resolve(".git/HEAD"), "ref: refs/heads/main\n");
        Files.writeString(dir.resolve(".git/config"), """
                [core]
                \trepositoryformatversion = 0
                [remote "upstream"]
                \turl = https://other.example/x.git
                [remote "origin"]
                \turl = https://bot:token@git.example.com/catalog.git
                \tfetch = +refs/heads/*:refs/remotes/origin/*
                """);
        Path catalog = Files.createDirectories(dir.resolve("catalog"));
        assertThat(CatalogRevision.of(catalog)).as("no commit yet").isEmpty();

        Files.writeString(dir.resolve(".git/packed-refs"), "# pack-refs with: peeled\n" + "a".repeat(40) + " refs/heads/main\n");
        assertThat(CatalogRevision.of(catalog)).contains(new CatalogRevision("a".repeat(40), "https://bot:token@git.example.com/catalog.git"));
        Files.writeString(git.resolve("main"), "b".repeat(40) + "\n");
        assertThat(CatalogRevision.of(catalog).map(CatalogRevision::commit)).as("a loose ref before the packed one").contains("b".repeat(40));
        assertThat(CatalogRevision.of(catalog).flatMap(CatalogRevision::sourceUrl)).contains("https://git.example.com/catalog.git");
    }

    private static Optional<String> source(String origin) {
        return new CatalogRevision("abc", origin).sourceUrl();
    }
}
