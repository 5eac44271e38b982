package dev.kiln.debian;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.bcpg.ArmoredInputStream;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.operator.bc.BcPGPContentVerifierBuilderProvider;

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
        List<String> lines = List.of(new String(inRelease, StandardCharsets.UTF_8).split("\r?\n", -1));
        int i = 0;
        while (i < lines.size() && lines.get(i).isBlank()) {
            i++;
        }
        if (i == lines.size() || !lines.get(i).equals(BEGIN)) {
            throw new DebianException(what + ": not a clearsigned InRelease (no '" + BEGIN + "' line)");
        }
        i++;
        while (i < lines.size() && !lines.get(i).isEmpty()) {
            if (!lines.get(i).startsWith("Hash:")) {
                throw new DebianException(what + ": unexpected armor header '" + lines.get(i) + "'");
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
        checkSignatures(signed, armor.toString(), keyring, now, what);
        return String.join("\n", text) + "\n";
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

    private static void checkSignatures(byte[] signed, String armor, Keyring keyring, Instant now, String what) {
        PGPSignatureList signatures;
        try (ArmoredInputStream in = new ArmoredInputStream(new ByteArrayInputStream(armor.getBytes(StandardCharsets.US_ASCII)))) {
            Object o = new BcPGPObjectFactory(in).nextObject();
            if (!(o instanceof PGPSignatureList list) || list.isEmpty()) {
                throw new DebianException(what + ": the signature block holds no signature");
            }
            signatures = list;
        } catch (IOException e) {
            throw new DebianException(what + ": unreadable signature block: " + e.getMessage(), e);
        }
        int good = 0;
        List<String> ignored = new ArrayList<>();
        for (PGPSignature sig : signatures) {
            PGPPublicKey key = keyring.key(sig.getKeyID());
            String keyId = String.format("%016X", sig.getKeyID());
            if (key == null) {
                ignored.add(keyId + " (not in " + keyring.path().getFileName() + ")");
                continue;
            }
            boolean valid;
            try {
                sig.init(new BcPGPContentVerifierBuilderProvider(), key);
                sig.update(signed);
                valid = sig.verify();
            } catch (PGPException e) {
                throw new DebianException(what + ": cannot check the signature by key " + keyId + ": " + e.getMessage(), e);
            }
            if (!valid) {
                throw new DebianException(what + ": BAD signature by key " + keyId
                        + ": the InRelease was altered after it was signed");
            }
            String unusable = Keyring.unusable(key, now);
            if (unusable != null) {
                ignored.add(keyId + " (key " + unusable + ")");
                continue;
            }
            good++;
        }
        if (good == 0) {
            throw new DebianException(what + ": no valid signature by a key in " + keyring.path()
                    + "; signed by " + String.join(", ", ignored));
        }
    }
}
