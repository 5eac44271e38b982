package dev.kiln.rebuild;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.sign.Claim;
import dev.kiln.sign.Signer;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The check before approval covers every platform image of an index: with one platform image's
 * signature deleted from the registry between the tag push and the read-back (the index's and the
 * other platform's intact), the build fails naming that platform image and nothing is approved.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultiArchitectureEvidenceIT {

    private Path tmp;
    private TestArchive repo;
    private TestRegistry registry;
    private Database database;
    private History history;
    private TamperingTarget target;
    private Rebuilds rebuilds;

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        repo = new TestArchive(tmp.resolve("repo"));
        repo.architectures("stable", "amd64", "arm64");
        repo.debFor("all", "stable", "tzdata", "2025b-4");
        for (String arch : new String[] {"amd64", "arm64"}) {
            repo.debFor(arch, "stable", "app", "1.0", "Depends: tzdata");
        }
        Instant now = Instant.now();
        repo.publish("stable", now.minus(Duration.ofMinutes(10)), now.plus(Duration.ofDays(7)));
        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        Files.writeString(catalog.resolve("multi.yaml"), repo.stackHead("test")
                .replace("architecture: amd64", "architectures: [amd64, arm64]") + "packages: [app]\n");
        registry = new TestRegistry(tmp);
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "kiln.key"), tmp);
        KilnProperties properties = new KilnProperties(catalog, tmp.resolve("data"), null,
                new KilnProperties.Build(registry.address() + "/ma", null, null, null, null, null, null),
                new KilnProperties.Service(null, null, null, null, null, Duration.ZERO, null, null), null, null, null, null, null,
                new KilnProperties.Signing(tmp.resolve("kiln.key").toString(), null, null, null));
        KilnConfiguration.Services services = KilnConfiguration.services(properties, Clock.systemUTC());
        target = new TamperingTarget(services.target());
        rebuilds = dev.kiln.testing.TestRebuilds.of(catalog, services, history, target, "kiln-test-1",
                Attester.signing(new Signer(services.signingKey().orElseThrow(), Clock.systemUTC()), new EvidenceAttestations()), database.dataSource());
    }

    @AfterAll
    void tearDown() {
        Resources.close(database, registry, repo);
    }

    @Test
    void aPlatformImageWhoseSignatureIsGoneFailsTheBuildAndNothingIsApproved() {
        String[] arm64 = new String[1];
        target.afterNextTag((repository, tag, digest) -> {
            arm64[0] = target.manifest(repository, digest).orElseThrow().children().get(1);
            String signature = target.referrers(repository, arm64[0]).stream().filter(d -> Claim.COSIGN_SIGN.equals(d.annotations()
                    .get("dev.sigstore.bundle.predicateType"))).findFirst().orElseThrow().digest();
            Tools.Run run = Tools.crane("delete", "--insecure", registry.address() + "/" + repository + "@" + signature);
            assertThat(run.ok()).as(run.output()).isTrue();
        });
        Rebuilds.Outcome o = rebuilds.run(Rebuilds.Request.of("multi", "manual", "test"));
        assertThat(o.status()).as(o.detail()).isEqualTo("failed");
        assertThat(o.detail()).startsWith("evidence check failed after the push, not approved: ")
                .contains("platform image " + arm64[0] + ": no signature of " + arm64[0])
                .doesNotContain("platform image " + target.manifest("ma/multi", target.lastDigest()).orElseThrow().children().get(0));
        assertThat(history.stack("multi").orElseThrow().currentDigest()).as("nothing approved").isNull();

        // untouched, the same build is approved
        Rebuilds.Outcome again = rebuilds.run(Rebuilds.Request.of("multi", "manual", "test"));
        assertThat(again.status()).as(again.detail()).isEqualTo("succeeded");
        assertThat(history.stack("multi").orElseThrow().currentDigest()).isEqualTo(again.result().published().digest());
    }
}
