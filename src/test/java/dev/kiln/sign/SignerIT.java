package dev.kiln.sign;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.publish.BlobLocations;
import dev.kiln.publish.Manifest;
import dev.kiln.publish.RegistryLogin;
import dev.kiln.publish.RegistryTarget;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestPredicates;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.TinyImage;
import dev.kiln.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kiln's signature and attestations as real cosign v3 reads them: on Debian's docker-registry (no
 * referrers API, so under cosign's {@code sha256-HEX} fallback tag), verified offline with the public key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SignerIT {

    private Path dir;
    private TestRegistry registry;
    private RegistryTarget target;
    private FileSigningKey key;
    private Path pub;
    private Path otherPub;

    @BeforeAll
    void start(@TempDir Path tmp) throws Exception {
        dir = tmp;
        registry = new TestRegistry(tmp);
        target = new RegistryTarget(registry.address(), registry.address(), "", true, RegistryLogin.NONE, BlobLocations.none());
        key = FileSigningKey.load(openssl("kiln.key"), null);
        pub = Files.writeString(tmp.resolve("kiln.pub"), Keys.pem(key.publicKey()));
        otherPub = Files.writeString(tmp.resolve("other.pub"), Keys.pem(FileSigningKey.load(openssl("other.key"), null).publicKey()));
    }

    @AfterAll
    void stop() {
        Resources.close(registry);
    }

    @Test
    void cosignVerifiesTheSignatureAndEveryAttestationTypeWithTheKeyAlone() {
        Manifest image = TinyImage.of("signed by kiln");
        target.push("demo/app", image, List.of("1"));
        List<Signer.Signed> signed = new Signer(key, Clock.systemUTC()).sign(registry.address() + "/demo/app", image.descriptor(),
                TestPredicates.all("app", 7), Map.of(Signer.STACK, "app", Signer.BUILD, "7"));
        signed.forEach(s -> target.attach("demo/app", s.artifact()));
        assertThat(registry.tags("demo/app")).containsExactlyInAnyOrder("1", "sha256-" + image.descriptor().hex());

        String ref = registry.address() + "/demo/app@" + image.digest();
        Tools.Run verify = cosign("verify", "--key", pub.toString(), ref);
        assertThat(verify.ok()).as(verify.output()).isTrue();
        assertThat(verify.output()).contains("\"dev.kiln.stack\":\"app\"").contains("The signatures were verified against the specified public key");
        // cosign's own -a check: only the signature carries Kiln's annotations
        assertThat(cosign("verify", "--key", pub.toString(), "-a", "dev.kiln.stack=app", ref).ok()).isTrue();
        assertThat(cosign("verify", "--key", pub.toString(), "-a", "dev.kiln.stack=other", ref).ok()).isFalse();
        for (String type : List.of("slsaprovenance1", "spdxjson", "cyclonedx", TestPredicates.REBUILD_RECORD)) {
            Tools.Run attestation = cosign("verify-attestation", "--key", pub.toString(), "--type", type, ref);
            assertThat(attestation.ok()).as(type + ": " + attestation.output()).isTrue();
        }
        // a type Kiln did not attest, and another key
        assertThat(cosign("verify-attestation", "--key", pub.toString(), "--type", "openvex", ref).ok()).isFalse();
        Tools.Run other = cosign("verify", "--key", otherPub.toString(), ref);
        assertThat(other.ok()).as(other.output()).isFalse();

        EvidenceVerifier.Report report = new EvidenceVerifier().verify(target, "demo/app", image.digest(), key.publicKey());
        assertThat(report.problems()).isEmpty();
        assertThat(report.signatures()).singleElement().satisfies(s -> assertThat(s.statement().annotations()).containsEntry("dev.kiln.build", "7"));
        assertThat(report.attestations()).extracting(EvidenceVerifier.Found::predicateType)
                .containsExactlyInAnyOrder(TestPredicates.SLSA, TestPredicates.SPDX, TestPredicates.CYCLONEDX, TestPredicates.REBUILD_RECORD);
        assertThat(report.bundleDigests()).containsExactlyInAnyOrderElementsOf(signed.stream().map(Signer.Signed::bundleDigest).toList());
    }

    @Test
    void kilnVerifiesWhatCosignSignedAndAttestedWithTheSameKey() throws Exception {
        Manifest image = TinyImage.of("signed by cosign");
        target.push("demo/cosign", image, List.of("1"));
        String ref = registry.address() + "/demo/cosign@" + image.digest();
        Path config = Files.writeString(dir.resolve("signing-config.json"),
                "{\"mediaType\":\"application/vnd.dev.sigstore.signingconfig.v0.2+json\",\"rekorTlogConfig\":{},\"tsaConfig\":{}}");
        // cosign signs only with keys in its own format: import Kiln's PKCS#8 key (the same key pair)
        Tools.Run imported = Tools.cosign("import-key-pair", "--key", dir.resolve("kiln.key").toString(), "--output-key-prefix",
                dir.resolve("imported").toString());
        assertThat(imported.ok()).as(imported.output()).isTrue();
        Path key = dir.resolve("imported.key");
        Tools.Run sign = cosign("sign", "--key", key.toString(), "--signing-config", config.toString(), "-y", ref);
        assertThat(sign.ok()).as(sign.output()).isTrue();
        Path predicate = Files.write(dir.resolve("spdx.json"), TestPredicates.spdx("cosign").json());
        Tools.Run attest = cosign("attest", "--key", key.toString(), "--signing-config", config.toString(), "-y", "--type", "spdxjson",
                "--predicate", predicate.toString(), ref);
        assertThat(attest.ok()).as(attest.output()).isTrue();

        EvidenceVerifier.Report report = new EvidenceVerifier().verify(target, "demo/cosign", image.digest(), this.key.publicKey());
        assertThat(report.problems()).isEmpty();
        assertThat(report.signatures()).hasSize(1);
        assertThat(report.attestations()).singleElement().satisfies(a -> assertThat(a.predicateType()).isEqualTo(TestPredicates.SPDX));
    }

    private Tools.Run cosign(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.add(1, "--insecure-ignore-tlog");
        all.add(1, "--allow-http-registry");
        if (List.of("sign", "attest").contains(args[0])) {
            all.remove("--insecure-ignore-tlog");
        }
        return Tools.cosign(all.toArray(String[]::new));
    }

    private Path openssl(String name) {
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name), dir);
        return dir.resolve(name);
    }
}
