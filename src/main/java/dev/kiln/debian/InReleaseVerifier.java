package dev.kiln.debian;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Verifies a clearsigned InRelease (RFC 4880 section 7) and returns exactly the text that was signed, so
 * nothing outside the signature is ever parsed. Accepted when at least one signature is by a usable key
 * of the keyring and no signature by a keyring key is bad; signatures by unknown keys are ignored, as
 * apt does (Debian signs with several keys at once).
 */
final class InReleaseVerifier {

    private static final String BEGIN = "-----BEGIN PGP SIGNED MESSAGE-----";
    private static final String SIG_BEGIN = "-----BEGIN PGP SIGNATURE-----";
    private static final String SIG_END = "-----END PGP SIGNATURE-----";

    private InReleaseVerifier() {
    }

    static String verify(byte[] inRelease, Keyring keyring, Instant now, String what) {
        return check(inRelease, keyring, now, what).text();
    }

    /** The signed text and the keys whose signatures on it counted. */
    record Verified(String text, List<String> keys) {
    }

    static Verified check(byte[] inRelease, Keyring keyring, Instant now, String what) {
        List<String> lines = List.of(new String(inRelease, StandardCharsets.UTF_8).split("\r?\n", -1));
        int i = 0;
        while (i < lines.size() && lines.get(i).isBlank()) {
            i++;
        }
        if (i == lines.size() || !lines.get(i).equals(BEGIN)) {
            throw new DebianException(what + ": not a clearsigned InRelease (no '" + BEGIN + "' line)");
        }
        i++;
        java.util.Set<Integer> hashes = new java.util.TreeSet<>();
        while (i < lines.size() && !lines.get(i).isEmpty()) {
            if (!lines.get(i).startsWith("Hash:")) {
                // unsigned bytes from the mirror: quoted (cut, control characters escaped), never echoed whole into logs and records
                throw new DebianException(what + ": unexpected armor header " + Names.quote(lines.get(i)));
            }
            // the hashes the signer says it used (RFC 4880 section 7): a signature over another one does not count
            for (String name : lines.get(i).substring(5).split(",")) {
                int id = OpenPgp.hashId(name.strip());
                if (id < 0) {
                    throw new DebianException(what + ": the armor header names an unknown hash " + Names.quote(name.strip()));
                }
                hashes.add(id);
            }
            i++;
        }
        i++;
        List<String> text = new ArrayList<>();
        while (i < lines.size() && !lines.get(i).equals(SIG_BEGIN)) {
            String line = lines.get(i++);
            text.add(line.startsWith("- ") ? line.substring(2) : line);
        }
        if (i == lines.size()) {
            throw new DebianException(what + ": the InRelease has no signature block");
        }
        if (hashes.isEmpty()) {
            // RFC 4880 then implies MD5, and gpg refuses; Debian's InRelease files always name their hash
            throw new DebianException(what + ": the InRelease has no 'Hash:' armor header; refusing it");
        }
        StringBuilder armor = new StringBuilder();
        while (i < lines.size()) {
            String line = lines.get(i++);
            armor.append(line).append('\n');
            if (line.equals(SIG_END)) {
                break;
            }
        }
        for (; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                throw new DebianException(what + ": text after the signature block; refusing the InRelease");
            }
        }
        byte[] signed = canonical(text);
        List<String> keys = checkSignatures(signed, armor.toString(), hashes, keyring, now, what);
        return new Verified(String.join("\n", text) + "\n", keys);
    }

    /** Lines without trailing blanks, joined with CRLF and no final line break, as the signer hashed them. */
    private static byte[] canonical(List<String> text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int k = 0; k < text.size(); k++) {
            if (k > 0) {
                out.writeBytes(new byte[] {'\r', '\n'});
            }
            String line = text.get(k);
            int end = line.length();
            while (end > 0 && (line.charAt(end - 1) == ' ' || line.charAt(end - 1) == '\t')) {
                end--;
            }
            out.writeBytes(line.substring(0, end).getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    private static List<String> checkSignatures(byte[] signed, String armor, java.util.Set<Integer> hashes, Keyring keyring, Instant now,
                                                String what) {
        List<OpenPgp.Packet> packets;
        try {
            packets = OpenPgp.packets(OpenPgp.dearmor(armor));
        } catch (OpenPgp.Malformed e) {
            throw new DebianException(what + ": unreadable signature block: " + e.getMessage(), e);
        }
        if (packets.isEmpty()) {
            throw new DebianException(what + ": the signature block holds no signature");
        }
        List<String> good = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (OpenPgp.Packet packet : packets) {
            if (packet.tag() != OpenPgp.SIGNATURE) {
                throw new DebianException(what + ": the signature block holds a packet of type " + packet.tag() + ", not a signature");
            }
            OpenPgp.Sig sig;
            try {
                sig = OpenPgp.Sig.parse(packet.body());
            } catch (OpenPgp.Malformed e) {
                // a newer signature format next to ones Kiln reads must not stop them, as with an unknown key
                ignored.add("a signature Kiln cannot read (" + e.getMessage() + ")");
                continue;
            }
            Keyring.Signer signer = keyring.signer(sig, now);
            String keyId = OpenPgp.hexId(signer != null ? signer.key().id() : sig.issuerId());
            if (signer == null) {
                ignored.add(keyId + " (not in " + keyring.path().getFileName() + ")");
                continue;
            }
            String flaw = sig.type() != OpenPgp.TEXT ? "is not a text signature (type " + sig.type() + ")"
                    : !hashes.contains(sig.hash()) ? "uses hash algorithm " + sig.hash()
                    + ", which the armor's Hash: header does not name" : sig.unusable(now, signer.key());
            if (flaw != null) {
                ignored.add(keyId + " (signature " + flaw + ")");
                continue;
            }
            if (signer.key().jca() != null && !sig.verifiedBy(signer.key(), signed)) {
                throw new DebianException(what + ": BAD signature by key " + keyId
                        + ": the InRelease was altered after it was signed");
            }
            if (signer.unusable() != null) {
                ignored.add(keyId + " (key " + signer.unusable() + ")");
                continue;
            }
            good.add(keyId);
        }
        if (good.isEmpty()) {
            throw new DebianException(what + ": no valid signature by a key in " + keyring.path()
                    + "; signed by " + String.join(", ", ignored));
        }
        return good;
    }
}
