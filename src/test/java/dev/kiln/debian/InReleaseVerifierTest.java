package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.testing.TestArchive;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kiln's OpenPGP reading against gpg, the peer apt itself uses: keys and signatures gpg makes here, and a
 * real InRelease of Debian's with Debian's keyring (RSA subkeys with back-signatures, an Ed25519 key, a
 * signature by a key not in the keyring).
 */
class InReleaseVerifierTest {

    private static final String TEXT = "Origin: Kiln\nSuite: stable\nDescription: trailing blanks \t\n- a dash line\n";

    @TempDir
    static Path tmp;
    private static Path home;
    private static String ed;
    private static String rsa;
    private static String shortLived;

    @BeforeAll
    static void keys() throws IOException {
        home = Files.createDirectory(tmp.resolve("gnupg"));
        Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        ed = newKey("Ed Signer", "ed25519", "sign", "never");
        // an RSA primary that only certifies, with a signing subkey: how Debian's archive keys are made
        rsa = newKey("Rsa Signer", "rsa2048", "cert", "never");
        gpg("--passphrase", "", "--quick-add-key", rsa, "rsa2048", "sign", "never");
        shortLived = newKey("Short Lived", "ed25519", "sign", "1d");
    }

    @Test
    void acceptsSignaturesByAnEd25519KeyAndAnRsaSubkeyAndReturnsTheTextAsSigned() {
        byte[] signed = clearsign(TEXT, "", ed, rsa);
        gpg("--verify", write("peer.asc", signed).toString());

        InReleaseVerifier.Verified verified = InReleaseVerifier.check(signed, keyring("both.gpg", ed, rsa), Instant.now(), "test");

        assertThat(verified.text()).isEqualTo(TEXT);
        assertThat(verified.keys()).hasSize(2).contains(ed.substring(24));
    }

    @Test
    void anUnsignedArmorHeaderIsQuotedCutAndEscapedNotEchoedWhole() {
        // before any signature is checked: a megabyte of the mirror's text with a terminal escape went into the message as it came
        String header = "Comment: \u001b[2J" + "x".repeat(1 << 20);
        byte[] hostile = ("-----BEGIN PGP SIGNED MESSAGE-----\n" + header + "\n\n" + TEXT).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> InReleaseVerifier.verify(hostile, keyring("ed.gpg", ed), Instant.now(), "test"))
                .hasMessage("test: unexpected armor header 'Comment: \\x1b[2J" + "x".repeat(200 - 13) + "...'");
    }

    @Test
    void refusesAlteredTextAsGpgDoes() {
        byte[] altered = new String(clearsign(TEXT, "", ed), StandardCharsets.UTF_8).replace("Suite: stable", "Suite: stab1e")
                .getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> gpg("--verify", write("altered.asc", altered).toString())).hasMessageContaining("BAD signature");

        assertThatThrownBy(() -> InReleaseVerifier.verify(altered, keyring("ed.gpg", ed), Instant.now(), "test"))
                .isInstanceOf(DebianException.class)
                .hasMessage("test: BAD signature by key " + ed.substring(24) + ": the InRelease was altered after it was signed");
    }

    @Test
    void refusesAnRsaSignatureWhoseValueWasAltered() {
        String armored = new String(clearsign(TEXT, "", rsa), StandardCharsets.UTF_8);
        byte[] sig = sigPacketsOf(armored);
        sig[sig.length - 10] ^= 0x01;  // inside the RSA value; the hash prefix still matches
        byte[] forged = (armored.substring(0, armored.indexOf("-----BEGIN PGP SIGNATURE-----")) + armor(sig)).getBytes(StandardCharsets.UTF_8);

        assertThatThrownBy(() -> InReleaseVerifier.verify(forged, keyring("rsa.gpg", rsa), Instant.now(), "test"))
                .hasMessageContaining(": BAD signature by key ");
    }

    @Test
    void ignoresKeysNotInTheKeyringAndNeedsOneThatIs() {
        byte[] signed = clearsign(TEXT, "", ed);
        assertThatThrownBy(() -> InReleaseVerifier.verify(signed, keyring("rsa-only.gpg", rsa), Instant.now(), "test"))
                .hasMessage("test: no valid signature by a key in " + tmp.resolve("rsa-only.gpg") + "; signed by "
                        + ed.substring(24) + " (not in rsa-only.gpg)");
    }

    @Test
    void readsArmoredKeyrings() throws IOException {
        Path armored = tmp.resolve("ed.asc");
        gpg("--yes", "--armor", "--output", armored.toString(), "--export", ed);

        assertThat(InReleaseVerifier.check(clearsign(TEXT, "", ed), Keyring.load(armored), Instant.now(), "test").keys())
                .containsExactly(ed.substring(24));
    }

    @Test
    void refusesAnExpiredKeyAndAnExpiredSignature() {
        byte[] byShortLived = clearsign(TEXT, "", shortLived);
        Keyring keyring = keyring("short.gpg", shortLived);
        assertThat(InReleaseVerifier.check(byShortLived, keyring, Instant.now(), "test").keys()).hasSize(1);
        assertThatThrownBy(() -> InReleaseVerifier.verify(byShortLived, keyring, Instant.now().plus(Duration.ofDays(2)), "test"))
                .hasMessageMatching("test: no valid signature .*; signed by [0-9A-F]{16} \\(key expired on .*\\)");

        byte[] expiring = clearsign(TEXT, "--default-sig-expire=1d", ed);
        assertThatThrownBy(() -> InReleaseVerifier.verify(expiring, keyring("ed2.gpg", ed), Instant.now().plus(Duration.ofDays(2)), "test"))
                .hasMessageMatching("test: no valid signature .*; signed by [0-9A-F]{16} \\(signature expired on .*\\)");
    }

    @Test
    void refusesARevokedKey() throws IOException {
        String doomed = newKey("Doomed", "ed25519", "sign", "never");
        byte[] signed = clearsign(TEXT, "", doomed);
        // gpg writes a revocation certificate for every new key, its armor defused with a leading colon
        Path rev = home.resolve("openpgp-revocs.d/" + doomed + ".rev");
        Files.writeString(rev, Files.readString(rev).replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        gpg("--import", rev.toString());

        assertThatThrownBy(() -> InReleaseVerifier.verify(signed, keyring("doomed.gpg", doomed), Instant.now(), "test"))
                .hasMessageEndingWith("(key is revoked)");
    }

    @Test
    void refusesASigningSubkeyWhoseBindingIsForgedOrLacksItsBackSignature() throws IOException {
        byte[] signed = clearsign(TEXT, "", rsa);
        byte[] exported = Files.readAllBytes(keyring("rsa-full.gpg", rsa).path());
        assertThat(InReleaseVerifier.check(signed, Keyring.load(tmp.resolve("rsa-full.gpg")), Instant.now(), "test").keys()).hasSize(1);

        // a binding whose RSA value is altered no longer binds the subkey to the primary key
        Path forged = editSignatureAfter(OpenPgp.PUBLIC_SUBKEY, exported, "forged-binding.gpg", body -> {
            body[body.length - 10] ^= 0x01;
            return body;
        });
        assertThatThrownBy(() -> InReleaseVerifier.verify(signed, Keyring.load(forged), Instant.now(), "test"))
                .hasMessageEndingWith("(key is not bound to its primary key by a valid signature)");

        // dropping the unhashed area, where gpg puts the subkey's back-signature, leaves the binding itself valid
        Path stripped = editSignatureAfter(OpenPgp.PUBLIC_SUBKEY, exported, "no-back-sig.gpg", body -> {
            int hashedEnd = 6 + ((body[4] & 0xFF) << 8 | body[5] & 0xFF);
            int unhashed = (body[hashedEnd] & 0xFF) << 8 | body[hashedEnd + 1] & 0xFF;
            return OpenPgp.concat(java.util.Arrays.copyOfRange(body, 0, hashedEnd), new byte[2],
                    java.util.Arrays.copyOfRange(body, hashedEnd + 2 + unhashed, body.length));
        });
        assertThatThrownBy(() -> InReleaseVerifier.verify(signed, Keyring.load(stripped), Instant.now(), "test"))
                .hasMessageEndingWith("(key is not cross-certified (no valid primary key binding signature))");
    }

    @Test
    void refusesAKeyWhoseSelfSignatureIsForged() throws IOException {
        byte[] signed = clearsign(TEXT, "", ed);
        Path forged = editSignatureAfter(OpenPgp.USER_ID, Files.readAllBytes(keyring("ed6.gpg", ed).path()), "forged-self.gpg", body -> {
            body[body.length - 10] ^= 0x01;
            return body;
        });
        assertThatThrownBy(() -> InReleaseVerifier.verify(signed, Keyring.load(forged), Instant.now(), "test"))
                .hasMessageEndingWith("(key has no valid self-signature)");
    }

    /** The keyring with the signature that follows a packet of this tag rewritten. */
    private static Path editSignatureAfter(int tag, byte[] keyring, String name, java.util.function.UnaryOperator<byte[]> edit) throws IOException {
        List<byte[]> packets = new ArrayList<>();
        int previous = 0;
        for (OpenPgp.Packet p : packets(keyring)) {
            byte[] body = p.body();
            if (p.tag() == OpenPgp.SIGNATURE && previous == tag) {
                body = edit.apply(body.clone());
            }
            packets.add(packet(p.tag(), body));
            previous = p.tag();
        }
        return Files.write(tmp.resolve(name), OpenPgp.concat(packets.toArray(byte[][]::new)));
    }

    @Test
    void ignoresSha1Signatures() {
        byte[] signed = clearsign(TEXT, "--digest-algo=SHA1", ed);
        assertThatThrownBy(() -> InReleaseVerifier.verify(signed, keyring("ed3.gpg", ed), Instant.now(), "test"))
                .hasMessageEndingWith("(signature uses hash algorithm 2 (Kiln accepts SHA-224, SHA-256, SHA-384 and SHA-512))");
    }

    @Test
    void verifiesARealDebianInReleaseWithDebiansKeyring() throws IOException {
        byte[] inRelease = getClass().getResourceAsStream("/debian/trixie.InRelease").readAllBytes();
        Keyring debian = Keyring.load(Path.of("catalog/keys/debian-trixie.gpg"));
        Instant signedAt = Instant.parse("2026-09-12T08:00:00Z");

        // the archive key signs with an RSA subkey, the release team with an Ed25519 primary; 12/bookworm's key is not in this keyring
        assertThat(InReleaseVerifier.check(inRelease, debian, signedAt, "trixie").keys())
                .containsExactly("78DBA3BC47EF2265", "762F67A0B2C39DE4");
        byte[] altered = new String(inRelease, StandardCharsets.UTF_8).replace("Version: 13.7", "Version: 13.8").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> InReleaseVerifier.verify(altered, debian, signedAt, "trixie"))
                .hasMessage("trixie: BAD signature by key 78DBA3BC47EF2265: the InRelease was altered after it was signed");
        // Debian's archive keys expire in 2035
        assertThatThrownBy(() -> InReleaseVerifier.verify(inRelease, debian, Instant.parse("2036-01-01T00:00:00Z"), "trixie"))
                .hasMessageContaining("78DBA3BC47EF2265 (key belongs to primary key 225629DF75B188BD, which expired on 2035-03-28");
    }

    @Test
    void namesWhatIsWrongWithAMalformedKeyringOrSignatureBlock() throws IOException {
        Path truncated = tmp.resolve("truncated.gpg");
        byte[] full = Files.readAllBytes(keyring("ed4.gpg", ed).path());
        Files.write(truncated, java.util.Arrays.copyOf(full, 40));
        assertThatThrownBy(() -> Keyring.load(truncated))
                .hasMessageStartingWith("keyring " + truncated + " is not an OpenPGP public keyring: packet at byte 0 claims ");

        Files.writeString(truncated, "not a key at all");
        assertThatThrownBy(() -> Keyring.load(truncated))
                .hasMessage("keyring " + truncated + " is not an OpenPGP public keyring: no packet header at byte 0");

        String signed = new String(clearsign(TEXT, "", ed), StandardCharsets.UTF_8);
        byte[] garbled = signed.replaceAll("(?s)(-----BEGIN PGP SIGNATURE-----\n\n).*(-----END)", "$1AAAA\n$2").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> InReleaseVerifier.verify(garbled, keyring("ed5.gpg", ed), Instant.now(), "test"))
                .hasMessage("test: unreadable signature block: no packet header at byte 0");
    }

    private static String newKey(String uid, String algo, String usage, String expire) {
        gpg("--passphrase", "", "--quick-gen-key", uid, algo, usage, expire);
        return gpg("--with-colons", "--list-keys", uid).lines().filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow().split(":")[9];
    }

    private static byte[] clearsign(String text, String option, String... signers) {
        Path in = write("in-" + System.nanoTime(), text.getBytes(StandardCharsets.UTF_8));
        Path out = tmp.resolve(in.getFileName() + ".asc");
        List<String> args = new ArrayList<>(List.of("--yes", "--output", out.toString()));
        if (!option.isEmpty()) {
            args.add(option);
        }
        for (String s : signers) {
            args.addAll(List.of("--local-user", s));
        }
        args.addAll(List.of("--clearsign", in.toString()));
        gpg(args.toArray(String[]::new));
        try {
            return Files.readAllBytes(out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Keyring keyring(String name, String... fingerprints) {
        List<String> args = new ArrayList<>(List.of("--yes", "--output", tmp.resolve(name).toString(), "--export"));
        args.addAll(List.of(fingerprints));
        gpg(args.toArray(String[]::new));
        return Keyring.load(tmp.resolve(name));
    }

    private static String gpg(String... args) {
        List<String> command = new ArrayList<>(List.of("gpg", "--homedir", home.toString(), "--batch", "--pinentry-mode", "loopback"));
        command.addAll(List.of(args));
        return TestArchive.run(command);
    }

    private static Path write(String name, byte[] content) {
        try {
            return Files.write(tmp.resolve(name), content);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<OpenPgp.Packet> packets(byte[] data) {
        try {
            return OpenPgp.packets(data);
        } catch (OpenPgp.Malformed e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] sigPacketsOf(String armored) {
        try {
            byte[] data = OpenPgp.dearmor(armored.substring(armored.indexOf("-----BEGIN PGP SIGNATURE-----")));
            return packets(data).get(0).body();
        } catch (OpenPgp.Malformed e) {
            throw new AssertionError(e);
        }
    }

    /** A new-format packet with a five-octet length. */
    private static byte[] packet(int tag, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xC0 | tag);
        out.write(0xFF);
        for (int shift = 24; shift >= 0; shift -= 8) {
            out.write(body.length >>> shift);
        }
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static String armor(byte[] sigBody) {
        return "-----BEGIN PGP SIGNATURE-----\n\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(packet(OpenPgp.SIGNATURE, sigBody)) + "\n-----END PGP SIGNATURE-----\n";
    }
}
