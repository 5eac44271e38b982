package dev.kiln.ecr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.KilnApplication;
import dev.kiln.cli.KilnCommandLine;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.model.ImageTagMutability;

/**
 * {@code kiln build --target ecr} end to end: the ECR API is moto, the registry Debian's
 * docker-registry, joined by {@link EcrRegistryBridge}. Kiln creates the repository, logs in with
 * GetAuthorizationToken, pushes with jib, confirms the digest with DescribeImages, and with the scan
 * gate on quarantines an image whose scan has findings at the gate's severity; of an image index, each
 * platform image's scan.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EcrBuildIT {

    private static final Pattern DIGEST = Pattern.compile("digest (sha256:[0-9a-f]{64})");

    private Path tmp;
    private MotoServer moto;
    private String endpoint;
    private EcrClient client;
    private TestRegistry registry;
    private EcrRegistryBridge bridge;
    private TestArchive repo;
    private Database database;
    private Path catalog;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        moto = new MotoServer(dir);
        endpoint = moto.endpoint();
        client = moto.client().build();
        registry = new TestRegistry(tmp);
        bridge = new EcrRegistryBridge(registry.address(), client);
        // the AWS SDK's default chain, as in production: here from system properties
        System.setProperty("aws.accessKeyId", "test");
        System.setProperty("aws.secretAccessKey", "test");

        repo = new TestArchive(tmp.resolve("repo"));
        repo.helloStatic("stable");
        publish(1);
        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        Files.writeString(catalog.resolve("app.yaml"), repo.stackHead("ECR end to end") + """
                packages: [hello-static, app-data]
                entrypoint: [/usr/bin/hello]
                target:
                  repository: golden/app
                """);
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
    }

    private void publish(int version) throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("app-" + version).resolve("usr/share/app"));
        Files.writeString(tree.resolve("VERSION"), version + "\n");
        repo.deb("stable", "app-data", version + ".0", tmp.resolve("app-" + version));
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));
    }

    @AfterAll
    void stop() {
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
        Resources.close(database, bridge, registry, repo, client, moto);
    }

    @Test
    void buildsIntoAnImmutableRepositoryConfirmsTheDigestAndQuarantinesWhatTheScanGateStops() throws Exception {
        assertThat(kiln("lock", "app")).as(err()).isZero();
        assertThat(kiln("build", "app")).as(err()).isZero();
        String first = digest();
        assertThat(client.describeRepositories(r -> r.repositoryNames("golden/app")).repositories().get(0).imageTagMutability())
                .isEqualTo(ImageTagMutability.IMMUTABLE);
        assertThat(client.describeImages(r -> r.repositoryName("golden/app")).imageDetails())
                .singleElement().satisfies(d -> assertThat(d.imageDigest()).isEqualTo(first));
        assertThat(registry.tags("golden/app")).hasSize(1);

        // a new package version, and the gate at HIGH: moto's scan reports one HIGH finding
        publish(2);
        assertThat(kiln("lock", "app")).as(err()).isZero();
        assertThat(kiln("build", "app", "--kiln.ecr.scan-gate-severity=HIGH")).isEqualTo(1);
        assertThat(err()).contains("app: quarantined, not approved: ").contains("the ECR scan gate: 1 finding(s) at or above HIGH");
        History history = new History(database.dataSource());
        History.Build quarantined = history.recent(1).get(0);
        assertThat(quarantined.status()).isEqualTo("quarantined");
        assertThat(history.stack("app").orElseThrow().currentDigest()).as("the approved image is still the first").isEqualTo(first);
        assertThat(client.describeImages(r -> r.repositoryName("golden/app")).imageDetails()).hasSize(2);

        // the same image under a gate at CRITICAL passes and becomes the approved image
        publish(3);
        assertThat(kiln("lock", "app")).as(err()).isZero();
        assertThat(kiln("build", "app", "--kiln.ecr.scan-gate-severity=CRITICAL")).as(err()).isZero();
        assertThat(history.stack("app").orElseThrow().currentDigest()).isEqualTo(digest()).isNotEqualTo(first);
    }

    /**
     * The checklist's ECR items are measured on the repository the image went to, not assumed from the
     * settings: with a customer key configured, a repository Kiln creates is encrypted under it (pass),
     * one that existed with AES256 is not (fail, ECR cannot re-encrypt); the scan gate's verdict is the
     * scan's (pass under CRITICAL, fail for the quarantined image under HIGH).
     */
    @Test
    void theChecklistMeasuresTheRepositoryAndTheScanOfEachBuild() throws Exception {
        String key = "arn:aws:kms:eu-central-1:123456789012:key/0b7b1c3e-5f4e-4f7a-9d55-3c2b1a0f9e11";
        for (String stack : List.of("sealed", "plain")) {
            Files.writeString(catalog.resolve(stack + ".yaml"), repo.stackHead("checklist on ECR") + """
                    packages: [hello-static]
                    entrypoint: [/usr/bin/hello]
                    target:
                      repository: golden/%s
                    """.formatted(stack));
        }
        client.createRepository(r -> r.repositoryName("golden/plain").imageTagMutability(ImageTagMutability.MUTABLE)
                .encryptionConfiguration(c -> c.encryptionType(software.amazon.awssdk.services.ecr.model.EncryptionType.AES256)));
        assertThat(kiln("lock", "sealed")).as(err()).isZero();
        assertThat(kiln("lock", "plain")).as(err()).isZero();
        assertThat(kiln("build", "sealed", "--kiln.ecr.kms-key=" + key, "--kiln.ecr.scan-gate-severity=CRITICAL")).as(err()).isZero();
        assertThat(kiln("build", "plain", "--kiln.ecr.kms-key=" + key, "--kiln.ecr.scan-gate-severity=HIGH")).isEqualTo(1);

        History history = new History(database.dataSource());
        dev.kiln.history.BuildRecords records = new dev.kiln.history.BuildRecords(database.dataSource());
        dev.kiln.compliance.BuildCompliance compliance = new dev.kiln.compliance.BuildCompliance(history, records,
                new dev.kiln.compliance.UnsignedEvidence(records));
        java.util.Map<String, dev.kiln.compliance.Checklist.Item> sealed = items(compliance, history.recent(List.of("sealed"), 1).get(0));
        java.util.Map<String, dev.kiln.compliance.Checklist.Item> plain = items(compliance, history.recent(List.of("plain"), 1).get(0));

        assertThat(sealed.get("customer-key").status()).as(sealed.get("customer-key").evidence()).isEqualTo(dev.kiln.compliance.Checklist.Status.PASS);
        assertThat(sealed.get("customer-key").evidence()).contains(key);
        assertThat(plain.get("customer-key").status()).as(plain.get("customer-key").evidence()).isEqualTo(dev.kiln.compliance.Checklist.Status.FAIL);
        assertThat(plain.get("customer-key").evidence()).contains("AES256");
        for (var items : List.of(sealed, plain)) {
            assertThat(items.get("immutable-tag").status()).as(items.get("immutable-tag").evidence()).isEqualTo(dev.kiln.compliance.Checklist.Status.PASS);
            assertThat(items.get("immutable-tag").evidence()).contains("IMMUTABLE");
        }
        assertThat(sealed.get("scanned").status()).as(sealed.get("scanned").evidence()).isEqualTo(dev.kiln.compliance.Checklist.Status.PASS);
        assertThat(plain.get("scanned").status()).as(plain.get("scanned").evidence()).isEqualTo(dev.kiln.compliance.Checklist.Status.FAIL);
        assertThat(plain.get("scanned").evidence()).contains("quarantined");
    }

    /**
     * ECR scans image manifests, not an index: a build of two architectures has each platform image
     * scanned (moto's API shows a scan of each, none of the index) and gated; all findings are counted,
     * and one platform over the gate holds the index back, the reason naming that platform.
     */
    @Test
    void anIndexIsGatedOnTheScanOfEachOfItsPlatformImages() throws Exception {
        repo.architectures("multi", "amd64", "arm64");
        for (String arch : List.of("amd64", "arm64")) {
            repo.debFor(arch, "multi", "multi-app", "1.0", "Depends: multi-data");
        }
        publishMulti("1.0");
        Files.writeString(catalog.resolve("multi.yaml"), repo.stackHead("two architectures on ECR")
                .replace("architecture: amd64", "architectures: [amd64, arm64]").replace("suites: [stable]", "suites: [multi]") + """
                packages: [multi-app]
                target:
                  repository: golden/multi
                """);
        History history = new History(database.dataSource());
        dev.kiln.history.BuildRecords records = new dev.kiln.history.BuildRecords(database.dataSource());

        // moto reports one HIGH finding for every image it scans: under CRITICAL both pass, and both count
        assertThat(kiln("lock", "multi")).as(err()).isZero();
        assertThat(kiln("build", "multi", "--kiln.ecr.scan-gate-severity=CRITICAL")).as(err()).isZero();
        History.Build approved = history.recent(List.of("multi"), 1).get(0);
        assertThat(approved.status()).isEqualTo("succeeded");
        java.util.Map<String, String> platforms = platforms(approved);
        assertThat(platforms).containsOnlyKeys("linux/amd64", "linux/arm64");
        for (String digest : platforms.values()) {
            assertThat(client.describeImageScanFindings(r -> r.repositoryName("golden/multi").imageId(i -> i.imageDigest(digest)))
                    .imageScanFindings().findingSeverityCountsAsStrings()).as(digest).isEqualTo(java.util.Map.of("HIGH", 1));
        }
        assertThatThrownBy(() -> client.describeImageScanFindings(r -> r.repositoryName("golden/multi")
                .imageId(i -> i.imageDigest(approved.imageDigest())))).as("the index itself is not scanned")
                .isInstanceOf(software.amazon.awssdk.services.ecr.model.ScanNotFoundException.class);
        tools.jackson.databind.JsonNode scan = records.measured(approved.id()).scan();
        assertThat(scan.path("status").asString()).isEqualTo("COMPLETE");
        assertThat(scan.path("gate").asString()).isEqualTo("CRITICAL");
        assertThat(scan.path("severities").toString()).isEqualTo("{\"HIGH\":2}");
        assertThat(scan.path("findings").valueStream().map(f -> f.asString()).toList())
                .containsExactly("linux/amd64: HIGH CVE-9999-9999", "linux/arm64: HIGH CVE-9999-9999");
        assertThat(scan.path("platforms").valueStream().map(p -> p.path("platform").asString() + " " + p.path("digest").asString()).toList())
                .containsExactly("linux/amd64 " + platforms.get("linux/amd64"), "linux/arm64 " + platforms.get("linux/arm64"));

        // the next version under a gate at HIGH, with moto's next scan in the repository clean: that platform
        // passes, the other (one HIGH finding) holds the whole index back
        publishMulti("2.0");
        assertThat(kiln("lock", "multi")).as(err()).isZero();
        moto.scanResult("eu-central-1", """
                {"registryId": "123456789012", "repositoryName": "golden/multi", "imageId": {},
                 "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
                 "imageScanFindings": {"findings": [], "findingSeverityCounts": {}}}""");
        assertThat(kiln("build", "multi", "--kiln.ecr.scan-gate-severity=HIGH")).isEqualTo(1);
        History.Build held = history.recent(List.of("multi"), 1).get(0);
        assertThat(held.status()).isEqualTo("quarantined");
        java.util.Map<String, String> heldPlatforms = platforms(held);
        java.util.Map<String, java.util.Map<String, Integer>> found = new java.util.TreeMap<>();
        heldPlatforms.forEach((platform, digest) -> found.put(platform, client.describeImageScanFindings(r -> r.repositoryName("golden/multi")
                .imageId(i -> i.imageDigest(digest))).imageScanFindings().findingSeverityCountsAsStrings()));
        assertThat(found.values()).as("one platform image scanned clean, the other with moto's finding")
                .containsExactlyInAnyOrder(java.util.Map.of(), java.util.Map.of("HIGH", 1));
        String dirty = found.entrySet().stream().filter(e -> !e.getValue().isEmpty()).findFirst().orElseThrow().getKey();
        String clean = found.entrySet().stream().filter(e -> e.getValue().isEmpty()).findFirst().orElseThrow().getKey();
        assertThat(err()).contains("multi: quarantined, not approved: ")
                .contains("the ECR scan gate: " + dirty + ": 1 finding(s) at or above HIGH {HIGH=1}").doesNotContain(clean + ":");
        tools.jackson.databind.JsonNode heldScan = records.measured(held.id()).scan();
        assertThat(heldScan.path("severities").toString()).isEqualTo("{\"HIGH\":1}");
        assertThat(heldScan.path("platforms").valueStream().map(p -> p.path("platform").asString() + " " + p.path("atOrAboveGate").asInt())
                .toList()).containsExactlyInAnyOrder(dirty + " 1", clean + " 0");
        assertThat(history.stack("multi").orElseThrow().currentDigest()).as("the approved index is still the first").isEqualTo(approved.imageDigest());
    }

    /** The shared (Architecture: all) package at {@code version}: every platform image changes. */
    private void publishMulti(String version) {
        repo.debFor("all", "multi", "multi-data", version);
        repo.publish("multi", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));
    }

    /** A build's platform images as recorded: OCI platform to digest. */
    private static java.util.Map<String, String> platforms(History.Build build) {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        build.platforms().forEach(p -> out.put(p.path("platform").asString(), p.path("digest").asString()));
        return out;
    }

    private static java.util.Map<String, dev.kiln.compliance.Checklist.Item> items(dev.kiln.compliance.BuildCompliance compliance,
                                                                                History.Build build) {
        java.util.Map<String, dev.kiln.compliance.Checklist.Item> items = new java.util.LinkedHashMap<>();
        compliance.checklist(build).items().forEach(i -> items.put(i.id(), i));
        return items;
    }

    private int kiln(String... args) {
        out.reset();
        err.reset();
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--catalog", catalog.toString(), "--data-dir", tmp.resolve("data").toString(), "--target", "ecr",
                "--kiln.ecr.endpoint=" + endpoint, "--kiln.ecr.region=eu-central-1", "--kiln.ecr.registry=" + bridge.address(),
                "--kiln.ecr.scan-timeout=30s"));
        return KilnCommandLine.run(KilnApplication.class, all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String digest() {
        Matcher m = DIGEST.matcher(out.toString(StandardCharsets.UTF_8));
        assertThat(m.find()).as(out.toString(StandardCharsets.UTF_8)).isTrue();
        return m.group(1);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
