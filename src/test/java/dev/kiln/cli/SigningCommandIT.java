package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.testing.AppData;
import dev.kiln.testing.KilnCli;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The signing commands end to end on the local OCI store: unsigned builds said so and recorded so; a
 * password-encrypted key signing the same image once it is configured, with the referrers recorded in
 * the layout's index; {@code kiln key} and {@code kiln verify}; a wrong password failing the build with
 * nothing published; {@code kiln rebuild --verify}, refused for a build of another Kiln version;
 * retirement leaving no signature behind in the store.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SigningCommandIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern DIGEST = Pattern.compile("digest (sha256:[0-9a-f]{64})");
    private static final Pattern BUILD = Pattern.compile("build (\\d+), digest");

    private Path tmp;
    private TestArchive repo;
    private Database database;
    private History history;
    private Path catalog;
    private String key;
    private String passwordFile;
    private String unsignedDigest;
    private KilnCli cli;
    private AppData app;

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        repo = new TestArchive(tmp.resolve("repo"));
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        app = new AppData(repo, tmp);
        Files.writeString(catalog.resolve("app.yaml"), app.stack("signing commands", 1));
        app.next();
        cli = new KilnCli(catalog, tmp.resolve("data"));
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "plain.key"), tmp);
        TestArchive.run(List.of("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "plain.key", "-out", "kiln.key",
                "-passout", "pass:correct horse"), tmp);
        TestArchive.run(List.of("openssl", "pkey", "-in", "plain.key", "-pubout", "-out", "kiln.pub"), tmp);
        Files.writeString(tmp.resolve("password"), "correct horse\n");
        Files.writeString(tmp.resolve("wrong"), "battery staple\n");
        key = "--kiln.signing.key=" + tmp.resolve("kiln.key");
        passwordFile = "--kiln.signing.password-file=" + tmp.resolve("password");
    }

    @AfterAll
    void tearDown() {
        Resources.close(database, repo);
    }

    @Test
    @Order(1)
    void withoutAKeyBuildsAreUnsignedAndSaySo() {
        assertThat(kiln("lock", "app")).as(err()).isZero();
        assertThat(kiln("build", "app")).as(err()).isZero();
        assertThat(err()).contains("kiln: no signing key configured (kiln.signing.key): images are published unsigned and recorded as unsigned");
        assertThat(out()).contains("  unsigned (no kiln.signing.key)");
        unsignedDigest = digest();
        History.Build build = history.build(buildId()).orElseThrow();
        assertThat(build.signed()).isFalse();
        assertThat(build.signingKeyId()).isNull();
        assertThat(kiln("key")).isEqualTo(1);
        assertThat(err()).contains("no signing key configured");
        assertThat(kiln("verify", "oci:store/golden/app@" + unsignedDigest, "--key", tmp.resolve("kiln.pub").toString())).isEqualTo(1);
        assertThat(err()).contains("no signature of " + unsignedDigest);
    }

    @Test
    @Order(2)
    void aKeyConfiguredSinceSignsTheSameImageAndTheStoreRecordsItsReferrers() throws Exception {
        assertThat(kiln("build", "app", key, passwordFile)).as(err()).isZero();
        assertThat(digest()).as("nothing changed but the key: the same image, now signed").isEqualTo(unsignedDigest);
        assertThat(out()).contains("already published").contains("  signed with key sha256:");
        History.Build build = history.build(buildId()).orElseThrow();
        assertThat(build.signed()).isTrue();

        assertThat(kiln("key", key, passwordFile)).as(err()).isZero();
        assertThat(out()).isEqualTo(Files.readString(tmp.resolve("kiln.pub")));
        assertThat(err()).contains("key " + build.signingKeyId() + " (ECDSA P-256, file " + tmp.resolve("kiln.key") + ")");

        // the CLI attests what dev.kiln.evidence makes: provenance, both SBOMs and the rebuild record, then the signature
        assertThat(history.evidence(build.id())).extracting(History.Evidence::predicateType).containsExactly("https://slsa.dev/provenance/v1",
                "https://spdx.dev/Document", "https://cyclonedx.org/bom", "https://kiln.dev/rebuild-record/v1", "https://sigstore.dev/cosign/sign/v1");

        // the layout names the signature's and the attestations' manifests with the image as their subject
        JsonNode index = JSON.readTree(tmp.resolve("data/store/index.json").toFile());
        List<JsonNode> referrers = new ArrayList<>();
        index.path("manifests").forEach(m -> {
            if (unsignedDigest.equals(m.path("annotations").path("dev.kiln.subject").asString(""))) {
                referrers.add(m);
            }
        });
        assertThat(referrers).hasSize(5).allSatisfy(m -> {
            assertThat(m.path("artifactType").asString()).isEqualTo("application/vnd.dev.sigstore.bundle.v0.3+json");
            assertThat(m.path("annotations").path("dev.kiln.repository").asString()).isEqualTo("golden/app");
        });

        assertThat(kiln("verify", "oci:store/golden/app@" + unsignedDigest, key, passwordFile)).as(err()).isZero();
        assertThat(out()).contains("signature     verified with key " + build.signingKeyId() + ": stack app, build " + build.id());
        // a repository on the configured target (local), by tag: the signature names the tag the unsigned build made
        assertThat(kiln("verify", "golden/app:" + build.tags().get(0).asString(), "--key", tmp.resolve("kiln.pub").toString())).as(err()).isZero();
    }

    @Test
    @Order(3)
    void aKeyThatCannotBeUsedFailsTheBuildAndPublishesNothing() throws Exception {
        app.next();
        assertThat(kiln("lock", "app")).as(err()).isZero();
        String indexBefore = Files.readString(tmp.resolve("data/store/index.json"));
        assertThat(kiln("build", "app", key, "--kiln.signing.password-file=" + tmp.resolve("wrong"))).isEqualTo(1);
        assertThat(err()).contains("app: kiln.signing.key " + tmp.resolve("kiln.key") + ": cannot decrypt the key: wrong password?")
                .contains("app: not built, nothing tagged");
        assertThat(Files.readString(tmp.resolve("data/store/index.json"))).isEqualTo(indexBefore);
        assertThat(history.stack("app").orElseThrow().currentDigest()).isEqualTo(unsignedDigest);
    }

    @Test
    @Order(4)
    void anIndependentRebuildReproducesARecordedBuildAndRefusesAnotherKilnVersion() {
        long signed = history.stack("app").orElseThrow().currentBuildId();
        assertThat(kiln("rebuild", "--verify", Long.toString(signed), key, passwordFile)).as(err()).isZero();
        assertThat(out()).contains("build " + signed + ": reproduced " + unsignedDigest + " from its recorded inputs in a clean workspace")
                .contains("attested on the image: reproduced by cli@");
        assertThat(kiln("verify", "oci:store/golden/app@" + unsignedDigest, key, passwordFile)).as(err()).isZero();
        assertThat(out()).contains("https://kiln.dev/reproduction/v1: reproduced by cli@");

        // the jar is another Kiln version than these classes ("dev"): its build is not this code's to reproduce
        String jar = TestArchive.run(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                Path.of("target/kiln.jar").toAbsolutePath().toString(), "build", "app", "--catalog", catalog.toString(),
                "--data-dir", tmp.resolve("data").toString(), key, passwordFile));
        Matcher m = BUILD.matcher(jar);
        assertThat(m.find()).as(jar).isTrue();
        assertThat(kiln("rebuild", "--verify", m.group(1))).isEqualTo(1);
        assertThat(err()).contains("kiln rebuild: refused: build " + m.group(1) + " was made by Kiln 0.1.0-SNAPSHOT and this is Kiln dev;");
        assertThat(kiln("rebuild", "--verify", "nope")).isEqualTo(64);
    }

    @Test
    @Order(5)
    void retirementLeavesNoSignatureInTheStore() throws Exception {
        assertThat(kiln("retire", "app", key, passwordFile)).as(err()).isZero();
        JsonNode index = JSON.readTree(tmp.resolve("data/store/index.json").toFile());
        List<String> subjects = new ArrayList<>();
        List<String> digests = new ArrayList<>();
        index.path("manifests").forEach(e -> {
            subjects.add(e.path("annotations").path("dev.kiln.subject").asString(""));
            digests.add(e.path("digest").asString());
        });
        assertThat(digests).doesNotContain(unsignedDigest);
        assertThat(subjects).doesNotContain(unsignedDigest);
        // every blob left is reachable from the index: the retired image's bundles went with it
        try (var blobs = Files.list(tmp.resolve("data/store/blobs/sha256"))) {
            for (Path blob : blobs.toList()) {
                String text = new String(Files.readAllBytes(blob), StandardCharsets.ISO_8859_1);
                assertThat(text).doesNotContain(unsignedDigest.substring(7));
            }
        }
    }

    private int kiln(String... args) {
        return cli.run(args);
    }

    private String digest() {
        Matcher m = DIGEST.matcher(out());
        assertThat(m.find()).as(out()).isTrue();
        return m.group(1);
    }

    private long buildId() {
        Matcher m = BUILD.matcher(out());
        assertThat(m.find()).as(out()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private String out() {
        return cli.out();
    }

    private String err() {
        return cli.err();
    }
}
