package dev.kiln.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.testing.TestArchive;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key files as OpenSSL writes them, read with the JDK: plain and encrypted PKCS#8, and the refusals. */
class KeysTest {

    @TempDir
    Path dir;

    @Test
    void aPlainPkcs8KeyFromOpensslSignsWhatOpensslVerifies() throws Exception {
        Path key = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem");
        openssl("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem");
        FileSigningKey signing = FileSigningKey.load(key, null);

        byte[] message = "the image digest".getBytes(StandardCharsets.UTF_8);
        Files.write(dir.resolve("message"), message);
        Files.write(dir.resolve("sig"), signing.sign(message));
        assertThat(openssl("dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "message").toString()).isNotNull();

        // the public key Kiln serves is the one OpenSSL derives, byte for byte
        assertThat(Keys.pem(signing.publicKey())).isEqualTo(Files.readString(dir.resolve("pub.pem")));
        assertThat(signing.id()).matches("sha256:[0-9a-f]{64}")
                .isEqualTo(Keys.id(Keys.publicKey(Files.readString(dir.resolve("pub.pem")), "pub.pem")));
    }

    @Test
    void anEncryptedKeyNeedsItsPassword() throws Exception {
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "plain.pem");
        Path key = openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "plain.pem", "-out", "enc.pem", "-passout", "pass:s3cret word");
        assertThat(Files.readString(key)).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----");

        FileSigningKey signing = FileSigningKey.load(key, "s3cret word".toCharArray());
        assertThat(signing.id()).isEqualTo(FileSigningKey.load(dir.resolve("plain.pem"), null).id());

        assertThatThrownBy(() -> FileSigningKey.load(key, "wrong".toCharArray()))
                .isInstanceOf(SignException.class).hasMessage("kiln.signing.key " + key + ": cannot decrypt the key: wrong password?");
        assertThatThrownBy(() -> FileSigningKey.load(key, null))
                .isInstanceOf(SignException.class).hasMessage("kiln.signing.key " + key + ": the key is encrypted and no password is configured "
                        + "(kiln.signing.password-file or the KILN_SIGNING_PASSWORD environment variable)");
    }

    @Test
    void otherCurvesFormatsAndFilesAreRefusedSayingWhy() throws Exception {
        Path p384 = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.pem");
        assertThatThrownBy(() -> FileSigningKey.load(p384, null)).hasMessage("kiln.signing.key " + p384
                + ": not an ECDSA P-256 key; Kiln signs with P-256 as cosign does by default");

        Path sec1 = openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sec1.pem");
        assertThatThrownBy(() -> FileSigningKey.load(sec1, null)).hasMessageContaining("a SEC1 'EC PRIVATE KEY'; convert it to PKCS#8");

        Path rsa = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem");
        assertThatThrownBy(() -> FileSigningKey.load(rsa, null)).hasMessageContaining("not an ECDSA P-256 key");

        assertThatThrownBy(() -> FileSigningKey.load(dir.resolve("none.pem"), null))
                .hasMessage("kiln.signing.key " + dir.resolve("none.pem") + ": no such file");
        Path cosignKey = Files.writeString(dir.resolve("cosign.key"), "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n");
        assertThatThrownBy(() -> FileSigningKey.load(cosignKey, null)).hasMessageContaining("cosign's own encrypted key format");
    }

    @Test
    void aPublicKeyMustBeP256() throws Exception {
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.pem");
        openssl("pkey", "-in", "p384.pem", "-pubout", "-out", "p384.pub");
        assertThatThrownBy(() -> Keys.publicKey(Files.readString(dir.resolve("p384.pub")), "p384.pub"))
                .hasMessage("p384.pub: not an ECDSA P-256 public key");
        assertThatThrownBy(() -> Keys.publicKey("hello", "x.pub")).hasMessage("x.pub: no PEM 'PUBLIC KEY' block");
    }

    private Path openssl(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        TestArchive.run(command, dir);
        String out = args[List.of(args).indexOf("-out") + 1 > 0 && List.of(args).contains("-out") ? List.of(args).indexOf("-out") + 1 : 0];
        return dir.resolve(out);
    }
}
