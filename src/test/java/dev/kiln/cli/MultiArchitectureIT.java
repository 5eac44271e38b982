package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.testing.KilnCli;
import dev.kiln.testing.TestArchive;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * `kiln lock`, `lock --check`, `validate` and `build` for a stack of two architectures, against a signed
 * repository on loopback that has amd64 and arm64 indexes: one package set per architecture with the
 * Architecture: all packages shared, staleness when either set changes, the two validation errors
 * that name an architecture, an image index in the local store whose platforms share the layers of
 * the shared packages, and a platform refused for a program of another architecture.
 * (MultiArchitectureImagesIT runs such images, made of real Debian packages, under QEMU.)
 */
class MultiArchitectureIT {

    @TempDir
    Path tmp;

    private TestArchive repo;
    private Path catalog;
    private KilnCli cli;

    @BeforeEach
    void setUp() throws IOException {
        repo = new TestArchive(tmp.resolve("repo"));
        repo.architectures("stable", "amd64", "arm64");
        repo.debFor("all", "stable", "tzdata", "2025b-4");
        for (String arch : new String[] {"amd64", "arm64"}) {
            repo.debFor(arch, "stable", "libc6", "2.41-12");
            repo.debFor(arch, "stable", "app", "1.0", "Depends: libc6, tzdata");
        }
        repo.debFor("amd64", "stable", "cpuid-tool", "1.0", "Depends: libc6");
        publish();
        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        stack("multi", "[amd64, arm64]", "[app]");
        cli = new KilnCli(catalog, tmp.resolve("data"));
    }

    @AfterEach
    void stop() {
        repo.close();
    }

    private void publish() {
        Instant now = Instant.now();
        repo.publish("stable", now.minus(Duration.ofMinutes(10)), now.plus(Duration.ofDays(7)));
    }

    private void stack(String name, String architectures, String packages) throws IOException {
        Files.writeString(catalog.resolve(name + ".yaml"), repo.stackHead("test")
                .replace("architecture: amd64", "architectures: " + architectures) + "packages: " + packages + "\n");
    }

    private Lock lock(String stack) {
        return LockFile.read(catalog.resolve(stack + ".lock.json")).orElseThrow();
    }

    @Test
    void theLockHoldsOneSetPerArchitectureAndListsTheArchitectureAllPackagesOnce() throws IOException {
        assertThat(cli.run("lock", "multi")).as(cli.err()).isZero();
        assertThat(cli.out()).contains("multi").contains("   5 packages").contains("new")
                .contains("1 shared (Architecture: all), amd64 3, arm64 3 packages each");
        Lock lock = lock("multi");
        assertThat(lock.lockVersion()).isEqualTo(2);
        assertThat(lock.architecture()).isNull();
        assertThat(lock.builtFor()).containsExactly("amd64", "arm64");
        assertThat(lock.packages()).extracting(p -> p.name() + ":" + p.architecture()).containsExactly("tzdata:all");
        assertThat(lock.platforms()).extracting(Lock.Platform::architecture).containsExactly("amd64", "arm64");
        assertThat(lock.platforms().get(1).packages()).extracting(p -> p.name() + ":" + p.architecture())
                .containsExactly("app:arm64", "libc6:arm64");
        assertThat(lock.platforms().get(1).packages().get(0).url()).endsWith("/app_1.0_arm64.deb");
        Lock arm64 = lock.forArchitecture("arm64");
        assertThat(arm64.architecture()).isEqualTo("arm64");
        assertThat(arm64.packages()).extracting(p -> p.name() + ":" + p.architecture()).containsExactly("app:arm64", "libc6:arm64", "tzdata:all");
        assertThat(arm64.packages().get(2)).isEqualTo(lock.forArchitecture("amd64").packages().get(2));
        assertThat(lock.digest()).isNotEqualTo(arm64.digest()).isNotEqualTo(lock.forArchitecture("amd64").digest());
        JsonNode json = JsonMapper.builder().build().readTree(Files.readString(catalog.resolve("multi.lock.json")));
        assertThat(json.has("architecture")).isFalse();
        assertThat(json.path("platforms").get(0).path("packages").size()).isEqualTo(2);

        assertThat(cli.run("lock", "multi", "--check")).as(cli.err()).isZero();
        assertThat(cli.run("validate", "multi")).as(cli.err()).isZero();
        // an unchanged archive re-locks to the same bytes
        String before = Files.readString(catalog.resolve("multi.lock.json"));
        assertThat(cli.run("lock", "multi")).isZero();
        assertThat(cli.out()).contains("unchanged");
        assertThat(Files.readString(catalog.resolve("multi.lock.json"))).isEqualTo(before);
    }

    @Test
    void theLockIsStaleWhenEitherArchitecturesSetChangesAndSaysWhichOne() {
        assertThat(cli.run("lock", "multi")).as(cli.err()).isZero();
        repo.debFor("arm64", "stable", "libc6", "2.41-13");
        publish();
        assertThat(cli.run("lock", "multi", "--check")).isEqualTo(1);
        assertThat(cli.err()).contains("multi.lock.json: packages: out of date: locking now would change 1 package (~ libc6:arm64 2.41-12 -> 2.41-13)");
        assertThat(cli.run("validate", "multi")).isEqualTo(1);
        assertThat(cli.err()).contains("~ libc6:arm64 2.41-12 -> 2.41-13");

        assertThat(cli.run("lock", "multi")).as(cli.err()).isZero();
        assertThat(cli.out()).contains("updated").contains("  ~ libc6:arm64 2.41-12 -> 2.41-13");
        assertThat(lock("multi").forArchitecture("amd64").packages()).filteredOn(p -> p.name().equals("libc6"))
                .extracting(Lock.Package::version).containsExactly("2.41-12");

        // a shared package changes for every architecture at once: named once
        repo.debFor("all", "stable", "tzdata", "2026a-1");
        publish();
        assertThat(cli.run("lock", "multi", "--check")).isEqualTo(1);
        assertThat(cli.err()).contains("(~ tzdata 2025b-4 -> 2026a-1)");
    }

    @Test
    void anArchitectureTheArchiveDoesNotHaveIsNamed() throws IOException {
        stack("riscv", "[amd64, riscv64]", "[app]");
        assertThat(cli.run("lock", "riscv")).isEqualTo(1);
        assertThat(cli.err()).contains("riscv.yaml: source: " + repo.url() + " stable: the archive has no architecture 'riscv64' (its Release lists amd64, arm64)");
        assertThat(catalog.resolve("riscv.lock.json")).doesNotExist();
        assertThat(cli.run("validate", "riscv")).isEqualTo(1);
        assertThat(cli.err()).contains("the archive has no architecture 'riscv64'");
    }

    @Test
    void aPackageMissingOnOneArchitectureIsNamedWithThatArchitecture() throws IOException {
        stack("tools", "[amd64, arm64]", "[tzdata, cpuid-tool]");
        assertThat(cli.run("lock", "tools")).isEqualTo(1);
        assertThat(cli.err()).contains("tools.yaml: packages[1]: for arm64: no package 'cpuid-tool' in stable (it resolves for amd64)")
                .doesNotContain("for amd64:");
        assertThat(catalog.resolve("tools.lock.json")).doesNotExist();
        // missing everywhere: said once, without an architecture
        stack("typo", "[amd64, arm64]", "[tzdata, openjdk-99-jre]");
        assertThat(cli.run("lock", "typo")).isEqualTo(1);
        assertThat(cli.err()).contains("typo.yaml: packages[1]: no package 'openjdk-99-jre' in stable").doesNotContain("for arm64")
                .doesNotContain("for amd64");
    }

    @Test
    void aSingleArchitectureStackStillWritesTheFirstLockFormat() throws IOException {
        Files.writeString(catalog.resolve("single.yaml"), repo.stackHead("test") + "packages: [app]\n");
        assertThat(cli.run("lock", "single")).as(cli.err()).isZero();
        String text = Files.readString(catalog.resolve("single.lock.json"));
        assertThat(text).contains("\"lockVersion\" : 1,").contains("\"architecture\" : \"amd64\",")
                .doesNotContain("architectures").doesNotContain("platforms").doesNotContain("arm64");
        assertThat(lock("single").packages()).extracting(p -> p.name() + ":" + p.architecture())
                .containsExactly("app:amd64", "libc6:amd64", "tzdata:all");
        // naming its one architecture as a list is the same stack: the lock stays current
        Files.writeString(catalog.resolve("single.yaml"), Files.readString(catalog.resolve("single.yaml"))
                .replace("architecture: amd64", "architectures: [amd64]"));
        assertThat(cli.run("lock", "single", "--check")).as(cli.err()).isZero();
    }

    private JsonNode json(Path file) throws IOException {
        return JsonMapper.builder().build().readTree(Files.readString(file));
    }

    private Path blob(String digest) {
        return tmp.resolve("data/store/blobs/sha256").resolve(digest.substring("sha256:".length()));
    }

    @Test
    void buildPublishesOneIndexWhosePlatformsShareTheLayersOfTheSharedPackages() throws IOException {
        assertThat(cli.run("lock", "multi")).as(cli.err()).isZero();
        assertThat(cli.run("build", "multi")).as(cli.err()).isZero();
        assertThat(cli.out()).containsPattern("build \\d+, index sha256:[0-9a-f]{64} with 2 platforms")
                .containsPattern("  amd64: digest sha256:[0-9a-f]{64}").containsPattern("  arm64: digest sha256:[0-9a-f]{64}");
        JsonNode tagged = null;
        for (JsonNode m : json(tmp.resolve("data/store/index.json")).path("manifests")) {
            if (m.path("annotations").path("org.opencontainers.image.ref.name").asString("").startsWith("multi:")) {
                tagged = m;
            }
        }
        assertThat(tagged).isNotNull();
        assertThat(tagged.path("mediaType").asString()).isEqualTo("application/vnd.oci.image.index.v1+json");
        JsonNode index = json(blob(tagged.path("digest").asString()));
        assertThat(index.path("manifests").valueStream().map(m -> m.path("platform").path("os").asString() + "/"
                + m.path("platform").path("architecture").asString()).toList()).containsExactly("linux/amd64", "linux/arm64");
        assertThat(index.path("annotations").path("dev.kiln.lock.digest").asString()).isEqualTo(lock("multi").digest());
        java.util.Map<String, java.util.Map<String, String>> layersByPlatform = new java.util.LinkedHashMap<>();
        for (JsonNode child : index.path("manifests")) {
            JsonNode manifest = json(blob(child.path("digest").asString()));
            JsonNode config = json(blob(manifest.path("config").path("digest").asString()));
            String arch = config.path("architecture").asString();
            assertThat(arch).isEqualTo(child.path("platform").path("architecture").asString());
            assertThat(config.path("config").path("Labels").path("dev.kiln.lock.digest").asString())
                    .isEqualTo(lock("multi").forArchitecture(arch).digest());
            java.util.Map<String, String> layers = new java.util.LinkedHashMap<>();
            for (int i = 0; i < manifest.path("layers").size(); i++) {
                layers.put(config.path("history").get(i).path("created_by").asString(), manifest.path("layers").get(i).path("digest").asString());
            }
            layersByPlatform.put(arch, layers);
        }
        java.util.Map<String, String> amd64 = layersByPlatform.get("amd64");
        java.util.Map<String, String> arm64 = layersByPlatform.get("arm64");
        assertThat(amd64.keySet()).containsExactly("kiln: kiln-base", "kiln: app (app)", "kiln: libc6 (libc6)", "kiln: tzdata (tzdata)");
        assertThat(arm64.get("kiln: tzdata (tzdata)")).as("the Architecture: all package's layer, status.d entry included")
                .isEqualTo(amd64.get("kiln: tzdata (tzdata)"));
        assertThat(arm64.get("kiln: kiln-base")).isEqualTo(amd64.get("kiln: kiln-base"));
        assertThat(arm64.get("kiln: libc6 (libc6)")).isNotEqualTo(amd64.get("kiln: libc6 (libc6)"));
        assertThat(arm64.get("kiln: app (app)")).isNotEqualTo(amd64.get("kiln: app (app)"));
        String skopeo = TestArchive.run(java.util.List.of("skopeo", "inspect", "--raw", "oci:" + tmp.resolve("data/store") + ":"
                + tagged.path("annotations").path("org.opencontainers.image.ref.name").asString()));
        assertThat(JsonMapper.builder().build().readTree(skopeo)).isEqualTo(index);

        // nothing changed: up to date, checked against the index
        assertThat(cli.run("build", "multi")).as(cli.err()).isZero();
        assertThat(cli.out()).contains("up to date").contains(tagged.path("digest").asString());
    }

    @Test
    void aPlatformWhoseImageHoldsAProgramOfAnotherArchitectureFailsTheBuildAndNothingIsTagged() throws IOException {
        repo.helloStatic("stable", "all");
        publish();
        Files.writeString(catalog.resolve("mixed.yaml"), repo.stackHead("test").replace("architecture: amd64", "architectures: [amd64, arm64]")
                + "packages: [hello-static]\nentrypoint: [/usr/bin/hello]\n");
        assertThat(cli.run("lock", "mixed")).as(cli.err()).isZero();
        assertThat(cli.run("build", "mixed")).isEqualTo(1);
        assertThat(cli.err()).contains("mixed: arm64: /usr/bin/hello: an ELF program for x86_64 (e_machine 62), but the image is for arm64 (aarch64)")
                .contains("mixed: not built, nothing tagged").doesNotContain("amd64: /usr/bin/hello");
        assertThat(Files.exists(tmp.resolve("data/store/index.json")) ? Files.readString(tmp.resolve("data/store/index.json")) : "")
                .doesNotContain("mixed:");
    }
}
