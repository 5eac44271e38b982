package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;

class LayerInspectorTest {

    private static byte[] layer(Object... entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(out))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (int i = 0; i < entries.length; i += 4) {
                String name = (String) entries[i];
                TarArchiveEntry e = new TarArchiveEntry(name);
                e.setMode((Integer) entries[i + 1]);
                e.setUserId((Integer) entries[i + 2]);
                byte[] content = entries[i + 3] == null ? new byte[0] : entries[i + 3] instanceof byte[] b ? b
                        : ((String) entries[i + 3]).getBytes(StandardCharsets.UTF_8);
                if (!name.endsWith("/")) {
                    e.setSize(content.length);
                }
                tar.putArchiveEntry(e);
                tar.write(content);
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    private static String pem() throws Exception {
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        return "-----BEGIN RSA PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(rsa.generateKeyPair().getPrivate().getEncoded()) + "\n-----END RSA PRIVATE KEY-----\n";
    }

    @Test
    void ownersModesShellsAndPackageManagersComeFromTheTarHeaders() throws Exception {
        LayerInspector.Facts f = LayerInspector.inspect("sha256:x", new ByteArrayInputStream(layer(
                "./usr/bin/", 0755, 0, null,
                "./usr/bin/su", 04755, 0, "su",
                "./usr/bin/dash", 0755, 0, "shell",
                "./usr/bin/dpkg", 0755, 0, "dpkg",
                "./usr/share/dash/", 0755, 0, null,
                "./home/app/", 0755, 65532, null,
                "./tmp/", 01777, 0, null,
                "./etc/open.conf", 0666, 0, "x")));
        assertThat(f.entries()).isEqualTo(8);
        assertThat(f.files()).isEqualTo(4);
        assertThat(f.setuid()).extracting(LayerInspector.Entry::path).containsExactly("/usr/bin/su");
        assertThat(f.shells()).containsExactly("/usr/bin/dash");
        assertThat(f.packageManagers()).containsExactly("/usr/bin/dpkg");
        assertThat(f.notRootOwned()).containsExactly(new LayerInspector.Entry("/home/app", 65532, 0, "0755", "directory"));
        assertThat(f.writable()).extracting(LayerInspector.Entry::path).containsExactly("/tmp", "/etc/open.conf");
        assertThat(f.secretCount()).isZero();
    }

    @Test
    void findsPrivateKeysAndTokensInFileBytesAndNeverReportsThemWhole() throws Exception {
        String token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
        byte[] big = new byte[3 * (1 << 20)];
        byte[] aws = "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\n".getBytes(StandardCharsets.US_ASCII);
        // across the boundary of two 1 MiB chunks: the scan must not cut it in two
        System.arraycopy(aws, 0, big, (1 << 20) - 10, aws.length);
        LayerInspector.Facts f = LayerInspector.inspect("sha256:y", new ByteArrayInputStream(layer(
                "./root/.ssh/id_rsa", 0600, 0, pem(),
                "./etc/ci.env", 0644, 0, "GITHUB_TOKEN=" + token + "\n",
                "./usr/lib/big.bin", 0644, 0, big)));
        assertThat(f.secrets()).extracting(LayerInspector.Secret::path, LayerInspector.Secret::kind, LayerInspector.Secret::masked)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("/root/.ssh/id_rsa", "private key (PEM)", "-----BEGIN RSA PRIVATE KEY-----"),
                        org.assertj.core.groups.Tuple.tuple("/etc/ci.env", "GitHub token", "ghp_a1****R8"),
                        org.assertj.core.groups.Tuple.tuple("/usr/lib/big.bin", "AWS access key id", "AKIAIO****LE"));
        assertThat(f.bytesScanned()).isGreaterThan(3 * (1 << 20));
    }

    @Test
    void whatOnlyLooksLikeASecretIsNotOne() throws Exception {
        // a library that parses keys names the header, a certificate is public, an example id is too short
        LayerInspector.Facts f = LayerInspector.inspect("sha256:z", new ByteArrayInputStream(layer(
                "./usr/lib/libcrypto.so", 0644, 0, "\0-----BEGIN %s PRIVATE KEY-----\0ANY PRIVATE KEY\0",
                "./etc/ssl/certs/ca.pem", 0644, 0, "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n",
                "./usr/share/doc/readme", 0644, 0, "set AKIA123 and ghp_short here\n")));
        assertThat(f.secrets()).isEmpty();
    }
}
