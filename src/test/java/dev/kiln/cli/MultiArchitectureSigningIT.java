package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.sign.SigstoreBundle;
import dev.kiln.testing.KilnCli;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A stack of two architectures built by the CLI with a signing key into Debian's docker-registry (no
 * referrers API: cosign's fallback tags): the index and each platform image carry their own signature,
 * checked before approval; each platform image has its own SBOMs (of its own packages), provenance and
 * rebuild record, the index the provenance of the whole build. Real cosign (from .ci/tools) verifies the
 * index and each platform image with the key, and refuses another key; {@code kiln verify} agrees.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiArchitectureSigningIT {

    private static final Pattern INDEX = Pattern.compile("build (\\d+), index (sha256:[0-9a-f]{64}) with 2 platforms");
    private static final Pattern PLATFORM = Pattern.compile("  (amd64|arm64): digest (sha256:[0-9a-f]{64})");

    private Path tmp;
    private TestArchive repo;
    private TestRegistry registry;
    private KilnCli cli;
    private long build;
    private String index;
    private final Map<String, String> platforms = new java.util.LinkedHashMap<>();

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        repo = new TestArchive(tmp.resolve("repo"));
        repo.architectures("stable", "amd64", "arm64");
        repo.debFor("all", "stable", "tzdata", "2025b-4");
        for (String arch : new String[] {"amd64", "arm64"}) {
            repo.debFor(arch, "stable", "libc6", "2.41-12");
            repo.debFor(arch, "stable", "app", "1.0", "Depends: libc6, tzdata");
        }
        Instant now = Instant.now();
        repo.publish("stable", now.minus(Duration.ofMinutes(10)), now.plus(Duration.ofDays(7)));
        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        Files.writeString(catalog.resolve("multi.yaml"), repo.stackHead("test")
                .replace("architecture: amd64", "architectures: [amd64, arm64]") + "packages: [app]\n");
        registry = new TestRegistry(tmp);
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "kiln.key"), tmp);
        TestArchive.run(List.of("openssl", "pkey", "-in", "kiln.key", "-pubout", "-out", "kiln.pub"), tmp);
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.key"), tmp);
        TestArchive.run(List.of("openssl", "pkey", "-in", "other.key", "-pubout", "-out", "other.pub"), tmp);
        cli = new KilnCli(catalog, tmp.resolve("data"), "--target", registry.address() + "/ma",
                "--kiln.signing.key=" + tmp.resolve("kiln.key"));
    }

    @AfterAll
    void tearDown() {
        Resources.close(registry, repo);
    }

    @Test
    @Order(1)
    void theIndexAndEachPlatformImageAreSignedAndAttestedBeforeApproval() {
        assertThat(cli.run("lock", "multi")).as(cli.err()).isZero();
        assertThat(cli.run("build", "multi")).as(cli.err()).isZero();
        Matcher m = INDEX.matcher(cli.out());
        assertThat(m.find()).as(cli.out()).isTrue();
        build = Long.parseLong(m.group(1));
        index = m.group(2);
        Matcher p = PLATFORM.matcher(cli.out());
        while (p.find()) {
            platforms.put(p.group(1), p.group(2));
        }
        assertThat(platforms).containsOnlyKeys("amd64", "arm64");
        assertThat(cli.out()).contains("3 signatures (the index and each platform image) and 9 attestation(s) attached and verified on the target");

        try (Database db = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 1)) {
            History history = new History(db.dataSource());
            History.Build recorded = history.build(build).orElseThrow();
            assertThat(recorded.signed()).isTrue();
            assertThat(recorded.imageDigest()).isEqualTo(index);
            Map<String, List<String>> bySubject = history.evidence(build).stream().collect(Collectors.groupingBy(
                    e -> e.subjectDigest() == null ? "index" : e.subjectDigest(), java.util.LinkedHashMap::new,
                    Collectors.mapping(History.Evidence::predicateType, Collectors.toList())));
            assertThat(bySubject.get("index")).containsExactly("https://slsa.dev/provenance/v1", "https://sigstore.dev/cosign/sign/v1");
            for (String digest : platforms.values()) {
                assertThat(bySubject.get(digest)).containsExactly("https://slsa.dev/provenance/v1", "https://spdx.dev/Document",
                        "https://cyclonedx.org/bom", "https://kiln.dev/rebuild-record/v1", "https://sigstore.dev/cosign/sign/v1");
            }
            // each statement is about its own image; each platform's SBOM lists its own architecture's packages
            for (History.Evidence e : history.evidence(build)) {
                JsonNode statement = SigstoreBundle.recordedStatement(e.bundle());
                String about = e.subjectDigest() == null ? index : e.subjectDigest();
                assertThat("sha256:" + statement.path("subject").get(0).path("digest").path("sha256").asString()).isEqualTo(about);
                if (e.predicateType().equals("https://spdx.dev/Document")) {
                    String arch = platforms.get("amd64").equals(about) ? "amd64" : "arm64";
                    String other = arch.equals("amd64") ? "arm64" : "amd64";
                    assertThat(statement.path("predicate").toString()).contains("arch=" + arch).doesNotContain("arch=" + other);
                }
            }
            // the index's provenance names every .deb of both platforms
            History.Evidence provenance = history.evidence(build).stream()
                    .filter(e -> e.subjectDigest() == null && e.predicateType().equals("https://slsa.dev/provenance/v1")).findFirst().orElseThrow();
            String deps = SigstoreBundle.recordedStatement(provenance.bundle()).path("predicate").path("buildDefinition")
                    .path("resolvedDependencies").toString();
            assertThat(deps).contains("app_1.0_amd64.deb").contains("app_1.0_arm64.deb").contains("tzdata_2025b-4_all.deb");
        }
    }

    @Test
    @Order(2)
    void cosignVerifiesTheIndexAndEachPlatformImageWithTheKeyAndRefusesAnother() {
        Path pub = tmp.resolve("kiln.pub");
        for (String digest : List.of(index, platforms.get("amd64"), platforms.get("arm64"))) {
            assertThat(cosign("verify", pub, "-a", "dev.kiln.stack=multi", "-a", "dev.kiln.build=" + build, ref(digest))).as(digest).isTrue();
            assertThat(cosign("verify-attestation", pub, "--type", "slsaprovenance1", ref(digest))).as(digest).isTrue();
            assertThat(cosign("verify", tmp.resolve("other.pub"), ref(digest))).as("another key: " + digest).isFalse();
        }
        for (var e : platforms.entrySet()) {
            assertThat(cosign("verify", pub, "-a", "dev.kiln.platform=" + e.getKey(), ref(e.getValue()))).as(e.getKey()).isTrue();
            assertThat(cosign("verify-attestation", pub, "--type", "spdxjson", ref(e.getValue()))).as(e.getKey()).isTrue();
            assertThat(cosign("verify-attestation", pub, "--type", "cyclonedx", ref(e.getValue()))).as(e.getKey()).isTrue();
        }
        assertThat(cosign("verify", pub, "-a", "dev.kiln.platform=arm64", ref(platforms.get("amd64")))).as("amd64 is not arm64").isFalse();
        // the index's own SBOMs are its platform images' (a host pulls one platform and verifies what it runs)
        assertThat(cosign("verify-attestation", pub, "--type", "spdxjson", ref(index))).isFalse();
        // by tag: cosign resolves the tag to the index
        assertThat(cosign("verify", pub, registry.address() + "/ma/multi:" + tag())).isTrue();
    }

    @Test
    @Order(3)
    void kilnVerifyAgreesForTheIndexAndEachPlatformImage() {
        for (String digest : List.of(index, platforms.get("amd64"), platforms.get("arm64"))) {
            assertThat(cli.run("verify", ref(digest), "--key", tmp.resolve("kiln.pub").toString())).as(cli.err()).isZero();
            assertThat(cli.out()).contains("verified: a signature and ").contains("each about " + digest);
            assertThat(cli.run("verify", ref(digest), "--key", tmp.resolve("other.pub").toString())).isEqualTo(1);
        }
    }

    @Test
    @Order(4)
    void anIndependentRebuildReproducesTheIndexAndAttestsIt() {
        assertThat(cli.run("rebuild", "--verify", Long.toString(build))).as(cli.err()).isZero();
        assertThat(cli.out()).contains("build " + build + ": reproduced " + index + " from its recorded inputs in a clean workspace");
        assertThat(cosign("verify-attestation", tmp.resolve("kiln.pub"), "--type", "https://kiln.dev/reproduction/v1", ref(index))).isTrue();
    }

    private String tag() {
        return registry.tags("ma/multi").stream().filter(t -> !t.startsWith("sha256-")).findFirst().orElseThrow();
    }

    private String ref(String digest) {
        return registry.address() + "/ma/multi@" + digest;
    }

    private static boolean cosign(String command, Path key, String... rest) {
        List<String> args = new ArrayList<>(List.of(command, "--allow-http-registry", "--insecure-ignore-tlog", "--key", key.toString()));
        args.addAll(List.of(rest));
        return Tools.cosign(args.toArray(String[]::new)).ok();
    }
}
