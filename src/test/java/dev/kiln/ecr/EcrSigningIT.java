package dev.kiln.ecr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.publish.ImageTarget;
import dev.kiln.rebuild.Attester;
import dev.kiln.rebuild.Rebuilds;
import dev.kiln.retire.Retirer;
import dev.kiln.sign.Keys;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import dev.kiln.testing.AppData;
import dev.kiln.testing.KilnCli;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestPredicates;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.model.ImageIdentifier;

/**
 * Signing on ECR (moto's ECR API, Debian's docker-registry, joined by {@link EcrRegistryBridge}, which
 * also answers the referrers API as ECR does): a build's signature and four attestations attached as OCI
 * 1.1 referrers (no fallback tag: ECR has the API), verified by real cosign v3 and {@code kiln verify};
 * retirement deletes them with the image through BatchDeleteImage, so ECR holds nothing of it after.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EcrSigningIT {

    private Path tmp;
    private MotoServer moto;
    private EcrClient client;
    private TestRegistry registry;
    private EcrRegistryBridge bridge;
    private TestArchive repo;
    private Database database;
    private History history;
    private Path catalog;
    private ImageTarget target;
    private Rebuilds rebuilds;
    private Path pub;
    private KilnCli cli;
    private AppData app;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        moto = new MotoServer(dir);
        client = moto.client().build();
        registry = new TestRegistry(tmp);
        bridge = new EcrRegistryBridge(registry.address(), client);
        System.setProperty("aws.accessKeyId", "test");
        System.setProperty("aws.secretAccessKey", "test");
        repo = new TestArchive(tmp.resolve("repo"));
        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        app = new AppData(repo, tmp);
        Files.writeString(catalog.resolve("app.yaml"), app.stack("ECR signing", 1, 0));
        cli = new KilnCli(catalog, tmp.resolve("data"), "--target", "ecr",
                "--kiln.ecr.endpoint=" + moto.endpoint(), "--kiln.ecr.region=eu-central-1", "--kiln.ecr.registry=" + bridge.address());
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "kiln.key"), tmp);
        KilnProperties properties = new KilnProperties(catalog, tmp.resolve("data"), null,
                new KilnProperties.Build("ecr", null, null, null, null, null, null),
                new KilnProperties.Service(null, null, null, null, null, Duration.ZERO, null, null),
                null, new KilnProperties.Ecr("eu-central-1", moto.endpoint(), bridge.address(), null, null, null, null, null, null), null, null, null,
                new KilnProperties.Signing(tmp.resolve("kiln.key").toString(), null, null, null));
        KilnConfiguration.Services services = KilnConfiguration.services(properties, Clock.systemUTC());
        SigningKey key = services.signingKey().orElseThrow();
        pub = Files.writeString(tmp.resolve("kiln.pub"), Keys.pem(key.publicKey()));
        target = services.target();
        rebuilds = dev.kiln.testing.TestRebuilds.of(catalog, services, history, target, "kiln-ecr",
                Attester.signing(new Signer(key, Clock.systemUTC()), TestPredicates::of), database.dataSource());
    }

    @AfterAll
    void stop() {
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
        Resources.close(database, bridge, registry, repo, client, moto);
    }

    @Test
    void cosignVerifiesEveryAttestationTypeOnEcrAndRetirementLeavesNothingOfTheImage() throws Exception {
        Rebuilds.Outcome first = build();
        assertThat(first.status()).as(first.detail()).isEqualTo("succeeded");
        String digest = first.result().published().digest();
        // referrers through the API: no fallback tag, and ECR lists them as untagged images
        assertThat(registry.tags("golden/app")).noneMatch(t -> t.startsWith("sha256-"));
        List<String> referrers = target.referrers("golden/app", digest).stream().map(d -> d.digest()).toList();
        assertThat(referrers).hasSize(5);
        assertThat(ecrDigests()).containsAll(referrers).contains(digest);

        String ref = bridge.address() + "/golden/app@" + digest;
        assertThat(cosign("verify", "--key", pub.toString(), "-a", "dev.kiln.stack=app", ref).ok()).isTrue();
        for (String type : List.of("slsaprovenance1", "spdxjson", "cyclonedx", TestPredicates.REBUILD_RECORD)) {
            Tools.Run run = cosign("verify-attestation", "--key", pub.toString(), "--type", type, ref);
            assertThat(run.ok()).as(type + ": " + run.output()).isTrue();
        }
        assertThat(kiln("verify", "golden/app@" + digest, "--key", pub.toString())).as(err()).isZero();
        assertThat(out()).contains("verified: a signature and 4 attestations");

        Rebuilds.Outcome second = build();
        assertThat(second.status()).as(second.detail()).isEqualTo("succeeded");
        Retirer.Result retired = new Retirer(history, target, Clock.systemUTC()).retire(Catalog.load(catalog).stack("app").orElseThrow(), "test");
        assertThat(retired.retired()).hasSize(1);
        assertThat(ecrDigests()).doesNotContain(digest).doesNotContainAnyElementsOf(referrers)
                .contains(second.result().published().digest());
        assertThat(target.referrers("golden/app", digest)).isEmpty();
        assertThat(target.referrers("golden/app", second.result().published().digest())).hasSize(5);
    }

    private List<String> ecrDigests() {
        return client.listImagesPaginator(r -> r.repositoryName("golden/app")).imageIds().stream().map(ImageIdentifier::imageDigest).distinct().toList();
    }

    private Rebuilds.Outcome build() {
        app.next();
        return rebuilds.run(Rebuilds.Request.of("app", "manual", "test"));
    }

    private static Tools.Run cosign(String command, String... args) {
        List<String> all = new ArrayList<>(List.of(command, "--allow-http-registry", "--insecure-ignore-tlog"));
        all.addAll(List.of(args));
        return Tools.cosign(all.toArray(String[]::new));
    }

    private int kiln(String... args) {
        return cli.run(args);
    }

    private String out() {
        return cli.out();
    }

    private String err() {
        return cli.err();
    }
}
