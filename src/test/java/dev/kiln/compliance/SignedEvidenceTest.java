package dev.kiln.compliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.publish.Descriptor;
import dev.kiln.sign.Claim;
import dev.kiln.sign.FileSigningKey;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The documents the console serves for a signed build are the predicates inside its bundles, byte for byte. */
class SignedEvidenceTest {

    private static final Descriptor IMAGE = Descriptor.of("application/vnd.oci.image.manifest.v1+json", "sha256:" + "cd".repeat(32), 100);
    private static SigningKey key;

    @BeforeAll
    static void key(@TempDir Path dir) {
        dev.kiln.testing.TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "k.pem"), dir);
        key = FileSigningKey.load(dir.resolve("k.pem"), null);
    }

    @Test
    void thePredicateIsTakenOutOfTheBundleExactlyAsSigned() {
        // spacing, key order, escapes and a nested "predicate" key: a parse and re-write would change the bytes
        byte[] predicate = "{ \"spdxVersion\" : \"SPDX-2.3\",\"name\":\"caf\\u00e9 \\\"x\\\"\",\"predicate\":{\"a\":[1, 2.50]},\"z\":null }"
                .getBytes(StandardCharsets.UTF_8);
        List<Signer.Signed> signed = new Signer(key, Clock.systemUTC()).sign("registry.example/golden/app", IMAGE,
                List.of(new Claim("https://spdx.dev/Document", "spdxjson", predicate)), Map.of(Signer.STACK, "app"));
        byte[] taken = SignedEvidence.predicate(SignedEvidence.statement(signed.get(0).bundle()));
        assertThat(taken).isEqualTo(predicate);
        assertThat(dev.kiln.publish.Digests.sha256(taken)).isEqualTo(signed.get(0).predicateDigest());
        // the signature's own predicate is the empty object
        assertThat(SignedEvidence.predicate(SignedEvidence.statement(signed.get(1).bundle()))).isEqualTo("{}".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aBundleWithoutAnEnvelopeOrAStatementWithoutAPredicateIsRefused() {
        assertThatThrownBy(() -> SignedEvidence.statement("{\"mediaType\":\"x\"}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("no DSSE envelope payload");
        assertThatThrownBy(() -> SignedEvidence.predicate("{\"_type\":\"t\",\"subject\":[]}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("no predicate");
        assertThatThrownBy(() -> SignedEvidence.predicate("{\"predicate\":[1]}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("not an object");
    }
}
