package dev.kiln.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.publish.Descriptor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bundles as Kiln writes and opens them: the statement's shape, and each way an altered bundle is refused. */
class SigstoreBundleTest {

    private static final String DIGEST = "sha256:" + "ab".repeat(32);
    private static final Descriptor IMAGE = Descriptor.of("application/vnd.oci.image.manifest.v1+json", DIGEST, 100);
    private static SigningKey key;

    @BeforeAll
    static void key(@TempDir Path dir) {
        dev.kiln.testing.TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "k.pem"), dir);
        key = FileSigningKey.load(dir.resolve("k.pem"), null);
    }

    @Test
    void aSignatureAndAnAttestationAreStatementsAboutTheDigestAsCosignWritesThem() {
        List<Signer.Signed> signed = new Signer(key, Clock.systemUTC()).sign("registry.example/golden/app", IMAGE,
                List.of(new Claim("https://spdx.dev/Document", "spdxjson", "{\"spdxVersion\":\"SPDX-2.3\"}".getBytes(StandardCharsets.UTF_8))),
                Map.of(Signer.STACK, "app"));
        String attestation = statement(signed.get(0).bundle());
        assertThat(attestation).isEqualTo("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"registry.example/golden/app\","
                + "\"digest\":{\"sha256\":\"" + "ab".repeat(32) + "\"}}],\"predicateType\":\"https://spdx.dev/Document\",\"predicate\":{\"spdxVersion\":\"SPDX-2.3\"}}");
        String signature = statement(signed.get(1).bundle());
        assertThat(signature).isEqualTo("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"digest\":{\"sha256\":\"" + "ab".repeat(32)
                + "\"},\"annotations\":{\"dev.kiln.attestations\":\"https://spdx.dev/Document@" + signed.get(0).bundleDigest()
                + "\",\"dev.kiln.stack\":\"app\"}}],\"predicateType\":\"https://sigstore.dev/cosign/sign/v1\",\"predicate\":{}}");
        assertThat(signed.get(0).predicateDigest()).isEqualTo(dev.kiln.publish.Digests.sha256("{\"spdxVersion\":\"SPDX-2.3\"}".getBytes(StandardCharsets.UTF_8)));
        assertThat(signed.get(1).artifact().descriptor().annotations()).containsEntry("dev.sigstore.bundle.content", "dsse-envelope")
                .containsEntry("dev.sigstore.bundle.predicateType", Claim.COSIGN_SIGN).containsKey("org.opencontainers.image.created");
        assertThat(signed.get(1).artifact().descriptor().artifactType()).isEqualTo(SigstoreBundle.MEDIA_TYPE);
        assertThat(signed.get(1).artifact().subject().digest()).isEqualTo(DIGEST);

        SigstoreBundle.Statement opened = SigstoreBundle.open(signed.get(1).bundle(), key.publicKey());
        assertThat(opened.predicateType()).isEqualTo(Claim.COSIGN_SIGN);
        assertThat(opened.subjects()).containsExactly(DIGEST);
        assertThat(opened.annotations()).containsEntry(Signer.STACK, "app");
    }

    @Test
    void anAlteredBundleIsRefusedSayingHow() throws Exception {
        byte[] bundle = new Signer(key, Clock.systemUTC()).sign("r/app", IMAGE, List.of(), Map.of()).get(0).bundle();
        String text = new String(bundle, StandardCharsets.US_ASCII);
        String payload = text.replaceAll(".*\"payload\":\"([^\"]*)\".*", "$1");
        String other = Base64.getEncoder().encodeToString(new String(Base64.getDecoder().decode(payload), StandardCharsets.UTF_8)
                .replace("ab", "cd").getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> open(text.replace(payload, other))).hasMessageStartingWith("the signature does not verify with key sha256:");
        assertThatThrownBy(() -> SigstoreBundle.open(bundle, otherKey())).hasMessageStartingWith("the signature does not verify with key");
        assertThatThrownBy(() -> open(text.replace("application/vnd.in-toto+json", "text/plain")))
                .hasMessage("the envelope's payload type is 'text/plain', not application/vnd.in-toto+json");
        assertThatThrownBy(() -> open(text.replace("}]}}", "},{\"sig\":\"AAAA\"}]}}")))
                .hasMessage("the envelope holds 2 signatures; a bundle carries exactly one");
        assertThatThrownBy(() -> open(text.replace("bundle.v0.3+json", "bundle+json;version=0.1")))
                .hasMessage("not a Sigstore bundle v0.3 (mediaType 'application/vnd.dev.sigstore.bundle+json;version=0.1')");
        assertThatThrownBy(() -> open(text.replaceAll("\"dsseEnvelope\":.*", "\"messageSignature\":{}}"))).hasMessage("the bundle holds no DSSE envelope");
        assertThatThrownBy(() -> open("[1]")).hasMessage("not a JSON object");
        assertThatThrownBy(() -> open(text.substring(0, 40))).hasMessageStartingWith("not JSON");
    }

    @Test
    void aPredicateMustBeOneJsonObject() {
        Signer signer = new Signer(key, Clock.systemUTC());
        for (String bad : List.of("[1,2]", "{\"a\":1} {\"b\":2}", "{\"a\":", "\"text\"")) {
            assertThatThrownBy(() -> signer.sign("r/app", IMAGE, List.of(new Claim("https://example/p", "https://example/p",
                    bad.getBytes(StandardCharsets.UTF_8))), Map.of())).as(bad).isInstanceOf(SignException.class)
                    .hasMessageStartingWith("https://example/p: the predicate");
        }
    }

    private static void open(String bundle) {
        SigstoreBundle.open(bundle.getBytes(StandardCharsets.US_ASCII), key.publicKey());
    }

    private static String statement(byte[] bundle) {
        return SigstoreBundle.recordedStatement(bundle).toString();
    }

    private static PublicKey otherKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair().getPublic();
    }
}
