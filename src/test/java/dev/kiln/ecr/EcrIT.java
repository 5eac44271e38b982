package dev.kiln.ecr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.publish.PublishException;
import dev.kiln.publish.BlobLocations;
import dev.kiln.publish.Target;
import dev.kiln.retire.Retirer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.model.EcrException;
import software.amazon.awssdk.services.ecr.model.GetAuthorizationTokenRequest;
import software.amazon.awssdk.services.ecr.model.ImageTagMutability;
import software.amazon.awssdk.services.ecr.model.Repository;

/**
 * The ECR adapter against moto in server mode (the ECR API emulator from PyPI, installed by
 * .ci/moto): repository creation and its settings, credentials and their cache, DescribeImages,
 * BatchDeleteImage in batches, the immutable-tag refusal, scan findings, and retirement on ECR.
 * Images are put with the API's PutImage, which is what a push leaves behind in ECR.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EcrIT {

    private static final String ACCOUNT_REGISTRY = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";

    private MotoServer moto;
    private String endpoint;
    private EcrClient client;
    private final AtomicInteger tokenCalls = new AtomicInteger();
    private Path tmp;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        moto = new MotoServer(dir);
        endpoint = moto.endpoint();
        client = moto.client()
                .overrideConfiguration(c -> c.addExecutionInterceptor(new ExecutionInterceptor() {
                    @Override
                    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                        if (context.request() instanceof GetAuthorizationTokenRequest) {
                            tokenCalls.incrementAndGet();
                        }
                    }
                }))
                .build();
    }

    @AfterAll
    void stop() {
        if (client != null) {
            client.close();
        }
        if (moto != null) {
            moto.close();
        }
    }

    private Ecr ecr(List<String> exclusions, String registry, Clock clock) {
        return new Ecr(client, new Ecr.Settings(exclusions, true, "arn:aws:kms:eu-central-1:123456789012:key/kiln-test",
                Map.of("team", "platform", "managed-by", "kiln"), registry), clock);
    }

    @Test
    void repositoriesAreCreatedImmutableScannedEncryptedAndTagged() {
        Repository java = ecr(List.of(), null, Clock.systemUTC()).ensureRepository("golden/java");
        Repository described = client.describeRepositories(r -> r.repositoryNames("golden/java")).repositories().get(0);
        assertThat(described.imageTagMutability()).isEqualTo(ImageTagMutability.IMMUTABLE);
        assertThat(described.imageScanningConfiguration().scanOnPush()).isTrue();
        assertThat(described.encryptionConfiguration().encryptionTypeAsString()).isEqualTo("KMS");
        assertThat(described.encryptionConfiguration().kmsKey()).isEqualTo("arn:aws:kms:eu-central-1:123456789012:key/kiln-test");
        assertThat(client.listTagsForResource(r -> r.resourceArn(java.repositoryArn())).tags())
                .extracting(t -> t.key() + "=" + t.value()).containsExactlyInAnyOrder("team=platform", "managed-by=kiln");

        ecr(List.of("latest*", "dev-*"), null, Clock.systemUTC()).ensureRepository("golden/python3");
        Repository python = client.describeRepositories(r -> r.repositoryNames("golden/python3")).repositories().get(0);
        assertThat(python.imageTagMutability()).isEqualTo(ImageTagMutability.IMMUTABLE_WITH_EXCLUSION);
        assertThat(python.imageTagMutabilityExclusionFilters()).extracting(f -> f.filter()).containsExactly("latest*", "dev-*");

        // a repository someone made mutable becomes immutable: Kiln's tags must never be overwritten
        client.createRepository(r -> r.repositoryName("golden/mutable").imageTagMutability(ImageTagMutability.MUTABLE));
        ecr(List.of(), null, Clock.systemUTC()).ensureRepository("golden/mutable");
        assertThat(client.describeRepositories(r -> r.repositoryNames("golden/mutable")).repositories().get(0).imageTagMutability())
                .isEqualTo(ImageTagMutability.IMMUTABLE);
    }

    @Test
    void credentialsComeFromTheAuthorizationTokenAndAreCachedUntilShortlyBeforeExpiry() {
        // moto's tokens expire at 2015-01-01T00:00:00Z
        Ecr fresh = ecr(List.of(), null, Clock.fixed(Instant.parse("2014-12-31T00:00:00Z"), ZoneOffset.UTC));
        int before = tokenCalls.get();
        assertThat(fresh.registry()).isEqualTo(ACCOUNT_REGISTRY);
        assertThat(fresh.login(ACCOUNT_REGISTRY)).hasValueSatisfying(l -> {
            assertThat(l.username()).isEqualTo("AWS");
            assertThat(l.password()).isNotBlank();
        });
        fresh.login(ACCOUNT_REGISTRY);
        assertThat(tokenCalls.get() - before).as("GetAuthorizationToken calls while the token is valid").isEqualTo(1);
        assertThat(fresh.login("registry.example.com")).as("another registry").isEmpty();

        Ecr expiring = ecr(List.of(), null, Clock.fixed(Instant.parse("2014-12-31T23:55:00Z"), ZoneOffset.UTC));
        before = tokenCalls.get();
        expiring.login(ACCOUNT_REGISTRY);
        expiring.login(ACCOUNT_REGISTRY);
        assertThat(tokenCalls.get() - before).as("renewed within 10 minutes of expiry").isEqualTo(2);

        Ecr viaEndpoint = ecr(List.of(), "localhost:5000", Clock.fixed(Instant.parse("2014-12-31T00:00:00Z"), ZoneOffset.UTC));
        assertThat(viaEndpoint.registry()).isEqualTo("localhost:5000");
        assertThat(viaEndpoint.login("localhost:5000")).isPresent();
    }

    @Test
    void thePushedDigestIsConfirmedAndAnImmutableTagIsNeverOverwritten() {
        Ecr ecr = ecr(List.of(), null, Clock.systemUTC());
        ecr.ensureRepository("golden/confirm");
        String digest = put("golden/confirm", "21-20261122.1", "one");
        ecr.confirm("golden/confirm", "21-20261122.1", digest);
        assertThatThrownBy(() -> ecr.confirm("golden/confirm", "21-20261122.1", "sha256:" + "0".repeat(64)))
                .isInstanceOf(PublishException.class).hasMessageContaining("ECR reports digest " + digest);
        assertThatThrownBy(() -> ecr.confirm("golden/confirm", "21-20261122.9", digest))
                .isInstanceOf(PublishException.class).hasMessageContaining("ECR does not list the image Kiln just pushed");

        assertThatThrownBy(() -> put("golden/confirm", "21-20261122.1", "two"))
                .isInstanceOfSatisfying(EcrException.class, e -> assertThat(Ecr.message(e))
                        .startsWith("the tag already exists and the repository's tags are immutable; Kiln never overwrites a tag"));
    }

    @Test
    void imagesAreDeletedByDigestInBatchesOfAHundred() {
        Ecr ecr = ecr(List.of(), null, Clock.systemUTC());
        ecr.ensureRepository("golden/many");
        List<String> digests = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            digests.add(put("golden/many", "t" + i, "image " + i));
        }
        assertThat(ecr.images("golden/many")).hasSize(150).allSatisfy(i -> assertThat(i.lastPulled()).isEmpty());
        Map<String, String> failures = ecr.delete("golden/many", digests.subList(0, 140));
        assertThat(failures).isEmpty();
        assertThat(ecr.images("golden/many")).extracting(Ecr.Image::digest).containsExactlyInAnyOrderElementsOf(digests.subList(140, 150));
        assertThat(ecr.delete("golden/many", digests.subList(0, 1))).as("already gone counts as deleted").isEmpty();
        assertThat(ecr.images("golden/none")).isEmpty();
    }

    @Test
    void scanFindingsAreReadAndCountedBySeverity() {
        Ecr ecr = ecr(List.of(), null, Clock.systemUTC());
        ecr.ensureRepository("golden/scanned");
        String digest = put("golden/scanned", "1", "scanned");
        Ecr.Scan scan = ecr.scan("golden/scanned", digest, Duration.ofSeconds(30));
        assertThat(scan.status()).isEqualTo("COMPLETE");
        assertThat(scan.severities()).containsEntry("HIGH", 1);
        assertThat(scan.findings()).anySatisfy(f -> assertThat(f).startsWith("HIGH CVE-"));
        assertThat(scan.atOrAbove("CRITICAL")).isZero();
        assertThat(scan.atOrAbove("HIGH")).isEqualTo(1);
        assertThat(scan.atOrAbove("low")).isEqualTo(1);
        assertThatThrownBy(() -> scan.atOrAbove("SEVERE")).hasMessageContaining("expected one of [CRITICAL, HIGH");
    }

    @Test
    void retirementOnEcrDeletesWithBatchDeleteImageAndKeepsTheCurrentImage() throws Exception {
        Ecr ecr = ecr(List.of(), null, Clock.systemUTC());
        EcrTarget target = new EcrTarget(ecr, new Target.Ecr(""), Set.of(), BlobLocations.none(), null, Duration.ofSeconds(1));
        String repository = "golden/retiring";
        ecr.ensureRepository(repository);
        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        Files.createDirectories(catalog.resolve("keys"));
        Files.copy(Path.of("catalog/keys/debian-trixie.gpg"), catalog.resolve("keys/test.gpg")); // the catalog checks it is a keyring
        Files.writeString(catalog.resolve("retiring.yaml"), """
                description: retirement on ECR
                owner: team@example.com
                version: "1"
                source:
                  architecture: amd64
                  keyring: keys/test.gpg
                  archives:
                    - url: http://127.0.0.1:9/debian
                      suites: [stable]
                      components: [main]
                packages: [tzdata]
                target:
                  repository: golden/retiring
                retention:
                  keepLast: 1
                  keepDays: 0
                  keepPulledDays: 30
                """);
        Stack stack = Catalog.load(catalog).stack("retiring").orElseThrow();
        try (Database db = Database.open(new Database.Settings(null, null, null), tmp.resolve("db"), 2).migrate()) {
            History history = new History(db.dataSource());
            List<String> tags = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                String tag = "1-20261122." + i;
                String digest = put(repository, tag, "build " + i);
                long build = history.open(new History.Request("retiring", "manual", "test", null, "dev", null), true, "test").id();
                history.resolved(build, new History.Inputs("sha256:f" + i, "sha256:s", "sha256:l", "{}", target.name(), repository));
                history.succeeded(build, new History.Published(digest, ACCOUNT_REGISTRY + "/" + repository + ":" + tag, tag, false, 1, 1,
                        List.of(), 1, Map.of(), List.of(), null, false, null));
                tags.add(tag);
            }
            Retirer retirer = new Retirer(history, target, Clock.systemUTC());
            Retirer.Plan plan = retirer.plan(stack);
            assertThat(plan.pullTimesKnown()).isTrue();
            assertThat(plan.decisions()).extracting(d -> d.image().tags().get(0) + " " + (d.keep() ? "keep" : "retire") + ": " + d.reason())
                    .containsExactly(
                            tags.get(2) + " keep: the current approved image",
                            tags.get(1) + " retire: not among the last 1 builds, pushed 0 days ago (keep 0), never pulled",
                            tags.get(0) + " retire: not among the last 1 builds, pushed 0 days ago (keep 0), never pulled");
            Retirer.Result result = retirer.retire(stack, "test");
            assertThat(result.retired()).containsExactlyInAnyOrder(tags.get(0), tags.get(1));
            assertThat(result.failed()).isEmpty();
            assertThat(ecr.images(repository)).flatExtracting(Ecr.Image::tags).containsExactly(tags.get(2));
            assertThat(history.retirements("retiring")).hasSize(2).allSatisfy(r -> assertThat(r.doneAt()).isNotNull());
        }
    }

    /** PutImage of a small OCI manifest under {@code tag}: what a push leaves in ECR. Returns its digest. */
    private String put(String repository, String tag, String content) {
        String manifest = """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
                "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[]}"""
                .formatted(sha256(content), content.length());
        String digest = "sha256:" + sha256(manifest);
        client.putImage(r -> r.repositoryName(repository).imageTag(tag).imageManifest(manifest).imageDigest(digest)
                .imageManifestMediaType("application/vnd.oci.image.manifest.v1+json"));
        return digest;
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
