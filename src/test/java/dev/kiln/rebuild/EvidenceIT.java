package dev.kiln.rebuild;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.publish.Blob;
import dev.kiln.publish.Descriptor;
import dev.kiln.publish.Manifest;
import dev.kiln.retire.Retirer;
import dev.kiln.sign.Claim;
import dev.kiln.sign.Keys;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import dev.kiln.sign.SigstoreBundle;
import dev.kiln.testing.AppData;
import dev.kiln.testing.KilnCli;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestPredicates;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.TinyImage;
import dev.kiln.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The pipeline's evidence end to end on Debian's docker-registry (no referrers API: cosign's fallback
 * tag): a build signed and attested (small real predicates made from the build), checked by real cosign
 * v3 and by {@code kiln verify}; then the four tamperings, each done to the registry right after the tag
 * push and before Kiln reads the evidence back: Kiln's post-push check refuses the build, the previous
 * image stays approved, and cosign and {@code kiln verify} reject the tampered image. Then an
 * independent rebuild, and retirement taking every signature and attestation with the images.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EvidenceIT {

    private Path tmp;
    private TestArchive repo;
    private TestRegistry registry;
    private Database database;
    private History history;
    private Path catalog;
    private KilnConfiguration.Services services;
    private TamperingTarget target;
    private Rebuilds rebuilds;
    private SigningKey key;
    private Path pub;
    private Path otherKey;
    private Path otherPub;
    private String repository;
    private long firstBuild;
    private String firstDigest;
    private KilnCli cli;
    private AppData app;

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        repo = new TestArchive(tmp.resolve("repo"));
        registry = new TestRegistry(tmp);
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        app = new AppData(repo, tmp);
        Files.writeString(catalog.resolve("app.yaml"), app.stack("evidence test", 1));
        cli = new KilnCli(catalog, tmp.resolve("data"));
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "kiln.key"), tmp);
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.pem"), tmp);
        assertThat(Tools.cosign("import-key-pair", "--key", tmp.resolve("other.pem").toString(), "--output-key-prefix",
                tmp.resolve("other").toString()).ok()).isTrue();
        otherKey = tmp.resolve("other.key");
        otherPub = tmp.resolve("other.pub");

        KilnProperties properties = new KilnProperties(catalog, tmp.resolve("data"), null,
                new KilnProperties.Build(registry.address() + "/ev", null, null, null, null, null, null),
                // each build must see the archive's newest index (a new app-data version per build)
                new KilnProperties.Service(null, null, null, null, null, Duration.ZERO, null, null), null, null, null, null, null,
                new KilnProperties.Signing(tmp.resolve("kiln.key").toString(), null, null, null));
        services = KilnConfiguration.services(properties, Clock.systemUTC());
        key = services.signingKey().orElseThrow();
        pub = Files.writeString(tmp.resolve("kiln.pub"), Keys.pem(key.publicKey()));
        target = new TamperingTarget(services.target());
        rebuilds = dev.kiln.testing.TestRebuilds.of(catalog, services, history, target, "kiln-test-1",
                Attester.signing(new Signer(key, Clock.systemUTC()), TestPredicates::of), database.dataSource());
        repository = "ev/golden/app";
    }

    @AfterAll
    void tearDown() {
        Resources.close(database, registry, repo);
    }

    @Test
    @Order(1)
    void aSignedBuildCarriesEvidenceThatCosignAndKilnVerify() {
        Rebuilds.Outcome o = build();
        assertThat(o.status()).as(o.detail()).isEqualTo("succeeded");
        firstBuild = o.build();
        firstDigest = o.result().published().digest();
        History.Build recorded = history.build(firstBuild).orElseThrow();
        assertThat(recorded.signed()).isTrue();
        assertThat(recorded.signingKeyId()).isEqualTo(key.id());
        assertThat(history.evidence(firstBuild)).extracting(History.Evidence::predicateType).containsExactly(TestPredicates.SLSA,
                TestPredicates.SPDX, TestPredicates.CYCLONEDX, TestPredicates.REBUILD_RECORD, Claim.COSIGN_SIGN);
        assertThat(registry.tags(repository)).contains("sha256-" + firstDigest.substring(7));

        String ref = ref(firstDigest);
        assertThat(cosign("verify", "--key", pub, ref)).isTrue();
        assertThat(cosign("verify", "--key", pub, "-a", "dev.kiln.stack=app", "-a", "dev.kiln.build=" + firstBuild, ref)).isTrue();
        for (String type : List.of("slsaprovenance1", "spdxjson", "cyclonedx", TestPredicates.REBUILD_RECORD)) {
            assertThat(cosign("verify-attestation", "--key", pub, "--type", type, ref)).as(type).isTrue();
        }
        assertThat(kiln("verify", ref, "--key", pub.toString())).as(err()).isZero();
        assertThat(out()).contains("signature     verified with key " + key.id() + ": stack app, build " + firstBuild + ", tag "
                        + o.result().published().tag())
                .contains("https://spdx.dev/Document (spdxjson): SPDX SPDX-2.3, 1 packages: app-data 1.0")
                .contains("https://slsa.dev/provenance/v1 (slsaprovenance1): built by https://kiln.dev/instance/kiln-test-1")
                .contains("verified: a signature and 4 attestations by key " + key.id());
        // by tag: the signature names the tag, so the tag is vouched for too
        assertThat(kiln("verify", registry.address() + "/" + repository + ":" + o.result().published().tag(), "--key", pub.toString()))
                .as(err()).isZero();
        // and with another key nothing verifies
        assertThat(cosign("verify", "--key", otherPub, ref)).isFalse();
        assertThat(kiln("verify", ref, "--key", otherPub.toString())).isEqualTo(1);
        assertThat(err()).contains("no signature of " + firstDigest + " by key");
    }

    @Test
    @Order(2)
    void aTagRepointedAtAnotherImageIsRefusedAndCaught() {
        Manifest unsigned = TinyImage.of("not from kiln");
        target.afterNextTag((repo, tag, digest) -> {
            target.push(repo, unsigned, List.of());
            crane("tag", registry.address() + "/" + repo + "@" + unsigned.digest(), tag);
        });
        Rebuilds.Outcome o = build();
        assertRefused(o, "names " + unsigned.digest() + ", not the image built");
        String tag = target.lastTag();
        String byTag = registry.address() + "/" + repository + ":" + tag;
        assertThat(cosign("verify", "--key", pub, byTag)).isFalse();
        assertThat(kiln("verify", byTag, "--key", pub.toString())).isEqualTo(1);
        assertThat(err()).contains("no signature of " + unsigned.digest());

        // rolled back to an older image Kiln did sign: cosign cannot tell, Kiln can (the signature names its tag)
        crane("tag", ref(firstDigest), tag);
        assertThat(cosign("verify", "--key", pub, byTag)).isTrue();
        assertThat(kiln("verify", byTag, "--key", pub.toString())).isEqualTo(1);
        assertThat(err()).contains("the tag " + tag + " names " + firstDigest + ", which Kiln signed for [").contains("the tag was moved");
    }

    @Test
    @Order(3)
    void evidenceReplacedByAnotherKeysSignatureIsRefusedAndCaught() {
        target.afterNextTag((repo, tag, digest) -> {
            // the referrers index goes, then someone else's key signs the image
            String index = crane("digest", registry.address() + "/" + repo + ":sha256-" + digest.substring(7)).strip();
            crane("delete", registry.address() + "/" + repo + "@" + index);
            cosignSign(otherKey, registry.address() + "/" + repo + "@" + digest);
        });
        Rebuilds.Outcome o = build();
        String digest = target.lastDigest();
        assertRefused(o, "no signature of " + digest + " by key " + key.id());
        assertThat(cosign("verify", "--key", otherPub, ref(digest))).as("the other key's signature is real").isTrue();
        assertThat(cosign("verify", "--key", pub, ref(digest))).isFalse();
        assertThat(kiln("verify", ref(digest), "--key", pub.toString())).isEqualTo(1);
        assertThat(out()).contains("is not signed by key " + key.id());
        assertThat(err()).contains("no signature of " + digest + " by key " + key.id());
    }

    @Test
    @Order(4)
    void anAttestationAboutAnotherDigestIsRefusedAndCaught() {
        History.Evidence spdx = history.evidence(firstBuild).stream().filter(e -> e.predicateType().equals(TestPredicates.SPDX)).findFirst()
                .orElseThrow();
        target.afterNextTag((repo, tag, digest) -> {
            // the new image's own SPDX attestation goes; the first image's (signed by the key, about the first image) is attached instead
            String own = target.referrers(repo, digest).stream().filter(d -> TestPredicates.SPDX.equals(d.annotations()
                    .get("dev.sigstore.bundle.predicateType"))).findFirst().orElseThrow().digest();
            crane("delete", registry.address() + "/" + repo + "@" + own);
            Descriptor subject = target.manifest(repo, digest).orElseThrow().descriptor();
            target.attach(repo, Manifest.artifact(SigstoreBundle.MEDIA_TYPE, List.of(Blob.of(SigstoreBundle.MEDIA_TYPE, spdx.bundle())), subject,
                    Map.of("dev.sigstore.bundle.content", "dsse-envelope", "dev.sigstore.bundle.predicateType", TestPredicates.SPDX)));
        });
        Rebuilds.Outcome o = build();
        String digest = target.lastDigest();
        assertRefused(o, "https://spdx.dev/Document attestation " + spdx.bundleDigest() + " is signed by the key but is about "
                + firstDigest + ", not " + digest);
        assertThat(o.detail()).contains("the signature lists a https://spdx.dev/Document attestation");
        assertThat(cosign("verify-attestation", "--key", pub, "--type", "spdxjson", ref(digest))).isFalse();
        assertThat(cosign("verify-attestation", "--key", pub, "--type", "cyclonedx", ref(digest))).as("the others are intact").isTrue();
        assertThat(kiln("verify", ref(digest), "--key", pub.toString())).isEqualTo(1);
        assertThat(err()).contains("is signed by the key but is about " + firstDigest);
    }

    @Test
    @Order(5)
    void aDeletedSignatureIsRefusedAndCaught() {
        target.afterNextTag((repo, tag, digest) -> {
            String signature = target.referrers(repo, digest).stream().filter(d -> Claim.COSIGN_SIGN.equals(d.annotations()
                    .get("dev.sigstore.bundle.predicateType"))).findFirst().orElseThrow().digest();
            crane("delete", registry.address() + "/" + repo + "@" + signature);
        });
        Rebuilds.Outcome o = build();
        String digest = target.lastDigest();
        assertRefused(o, "no signature of " + digest + " by key " + key.id());
        // the attestations are still there and signed by the key, which plain 'cosign verify' accepts as signatures
        // (cosign v3 verifies any bundle); asking for Kiln's signature, by its annotation or its type, fails
        assertThat(cosign("verify", "--key", pub, "-a", "dev.kiln.stack=app", ref(digest))).isFalse();
        assertThat(cosign("verify-attestation", "--key", pub, "--type", Claim.COSIGN_SIGN, ref(digest))).isFalse();
        assertThat(kiln("verify", ref(digest), "--key", pub.toString())).isEqualTo(1);
        assertThat(err()).contains("no signature of " + digest);
    }

    @Test
    @Order(6)
    void noTamperedBuildWasEverApproved() {
        assertThat(history.stack("app").orElseThrow().currentDigest()).isEqualTo(firstDigest);
        assertThat(history.builds("app", 0, 20).items()).extracting(History.Build::status)
                .containsExactly("failed", "failed", "failed", "failed", "succeeded");
        assertThat(history.builds("app", 0, 20).items()).filteredOn(b -> b.status().equals("failed")).allSatisfy(b -> {
            assertThat(b.signed()).isFalse();
            assertThat(history.evidence(b.id())).isEmpty();
        });
    }

    @Test
    @Order(7)
    void anIndependentRebuildReproducesTheDigestAndAttestsIt() {
        Reproducer reproducer = KilnConfiguration.reproducer(services, history, "kiln-verifier");
        Reproducer.Outcome o = reproducer.verify(firstBuild, "alice", step -> { });
        assertThat(o.status()).as(o.detail()).isEqualTo("reproduced");
        assertThat(o.rebuiltDigest()).isEqualTo(firstDigest);
        assertThat(o.attested()).isTrue();
        assertThat(history.reproductions(firstBuild)).singleElement().satisfies(r -> {
            assertThat(r.outcome()).isEqualTo("reproduced");
            assertThat(r.instance()).isEqualTo("kiln-verifier");
            assertThat(r.requestedBy()).isEqualTo("alice");
        });
        assertThat(cosign("verify-attestation", "--key", pub, "--type", Reproducer.PREDICATE, ref(firstDigest))).isTrue();
        assertThat(kiln("verify", ref(firstDigest), "--key", pub.toString())).as(err()).isZero();
        assertThat(out()).contains("https://kiln.dev/reproduction/v1: reproduced by kiln-verifier at " + o.at());

        // a recorded input that makes another image (here SOURCE_DATE_EPOCH) is found out, and recorded too
        JdbcClient.create(database.dataSource()).sql("UPDATE build SET build_settings = jsonb_set(build_settings, '{sourceDateEpoch}', '\"86400\"') WHERE id = ?")
                .param(firstBuild).update();
        Reproducer.Outcome differs = reproducer.verify(firstBuild, "alice", step -> { });
        assertThat(differs.status()).isEqualTo("differs");
        assertThat(differs.detail()).startsWith("the recorded inputs now make sha256:").contains("not " + firstDigest);
        assertThat(history.reproductions(firstBuild)).extracting(History.Reproduction::outcome).containsExactly("reproduced", "differs");
    }

    @Test
    @Order(8)
    void retirementTakesEverySignatureAndAttestationWithTheImage() {
        List<String> artifacts = new ArrayList<>(target.referrers(repository, firstDigest).stream().map(Descriptor::digest).toList());
        assertThat(artifacts).as("signature, 4 attestations, 2 reproductions").hasSize(7);
        Rebuilds.Outcome second = build();
        assertThat(second.status()).as(second.detail()).isEqualTo("succeeded");
        String kept = second.result().published().digest();

        Retirer.Result result = new Retirer(history, target, Clock.systemUTC()).retire(Catalog.load(catalog).stack("app").orElseThrow(), "test");
        assertThat(result.retired()).hasSize(1);
        assertThat(registry.tags(repository)).doesNotContain("sha256-" + firstDigest.substring(7)).contains("sha256-" + kept.substring(7));
        for (String artifact : artifacts) {
            assertThat(Tools.crane("manifest", "--insecure", registry.address() + "/" + repository + "@" + artifact).ok()).as(artifact).isFalse();
        }
        assertThat(target.manifest(repository, firstDigest)).isEmpty();
        assertThat(kiln("verify", ref(kept), "--key", pub.toString())).as(err()).isZero();
        // the history keeps the retired image's evidence, verifiable offline with the key
        History.Evidence signature = history.evidence(firstBuild).stream().filter(e -> e.predicateType().equals(Claim.COSIGN_SIGN)).findFirst()
                .orElseThrow();
        assertThat(SigstoreBundle.recordedStatement(signature.bundle()).path("subject").get(0).path("digest").path("sha256").asString())
                .isEqualTo(firstDigest.substring(7));
    }

    private Rebuilds.Outcome build() {
        app.next();
        return rebuilds.run(Rebuilds.Request.of("app", "manual", "test"));
    }

    private void assertRefused(Rebuilds.Outcome o, String reason) {
        assertThat(o.status()).isEqualTo("failed");
        assertThat(o.detail()).startsWith("evidence check failed after the push, not approved: ").contains(reason);
        assertThat(history.build(o.build()).orElseThrow().failureReason()).isEqualTo(o.detail());
        assertThat(history.stack("app").orElseThrow().currentDigest()).as("the approved image is still the first").isEqualTo(firstDigest);
    }

    private String ref(String digest) {
        return registry.address() + "/" + repository + "@" + digest;
    }

    private boolean cosign(String command, String flag, Path key, String... rest) {
        List<String> args = new ArrayList<>(List.of(command, "--allow-http-registry", "--insecure-ignore-tlog", flag, key.toString()));
        args.addAll(List.of(rest));
        return Tools.cosign(args.toArray(String[]::new)).ok();
    }

    /** cosign sign with a key and no transparency log (a signing config without services). */
    private void cosignSign(Path key, String ref) {
        try {
            Path config = Files.writeString(tmp.resolve("signing-config.json"),
                    "{\"mediaType\":\"application/vnd.dev.sigstore.signingconfig.v0.2+json\",\"rekorTlogConfig\":{},\"tsaConfig\":{}}");
            Tools.Run run = Tools.cosign("sign", "--allow-http-registry", "--key", key.toString(), "--signing-config", config.toString(), "-y", ref);
            if (!run.ok()) {
                throw new IllegalStateException("cosign sign failed: " + run.output());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** crane against the loopback registry; a failure throws (inside a tamper hook it fails the build, visibly). */
    private static String crane(String command, String... args) {
        List<String> all = new ArrayList<>(List.of(command, "--insecure"));
        all.addAll(List.of(args));
        Tools.Run run = Tools.crane(all.toArray(String[]::new));
        if (!run.ok()) {
            throw new IllegalStateException("crane " + String.join(" ", all) + ": " + run.output());
        }
        return run.output();
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
