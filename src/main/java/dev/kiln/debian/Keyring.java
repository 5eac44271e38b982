package dev.kiln.debian;

import dev.kiln.debian.OpenPgp.Key;
import dev.kiln.debian.OpenPgp.Malformed;
import dev.kiln.debian.OpenPgp.Packet;
import dev.kiln.debian.OpenPgp.Sig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The OpenPGP public keys an archive's InRelease must be signed by: binary ({@code .gpg}) or armored.
 * A key signs only while it is usable as gpg judges it: bound by a valid self-signature (a subkey by a
 * binding signature and its back-signature), not revoked, not expired, allowed to sign. Those key
 * signatures are checked when a key is first asked for, not on load.
 */
public final class Keyring {

    private static final String ARMOR = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

    private final Path path;
    private final List<Cert> certs;
    /** Key signatures already checked, and their verdict: each is checked once however many suites it signs. */
    private final Map<Check, Boolean> checked = new ConcurrentHashMap<>();

    /** A key signature, or ({@code back}) the back-signature embedded in a subkey binding. */
    private record Check(Sig sig, boolean back) {
    }

    private record UserId(byte[] text, List<Sig> sigs) {
    }

    private record Subkey(Key key, List<Sig> sigs) {
    }

    /** A primary key with what the keyring says about it. */
    private record Cert(Key primary, List<Sig> direct, List<UserId> userIds, List<Subkey> subkeys, List<String> unreadableRevocations) {
    }

    /** The key a signature names and, when it may not sign now, why. */
    record Signer(Key key, String unusable) {
    }

    private Keyring(Path path, List<Cert> certs) {
        this.path = path;
        this.certs = certs;
    }

    public static Keyring load(Path path) {
        return of(path, read(path));
    }

    /** The keyring file's bytes, or why it cannot be read. */
    static byte[] read(Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new DebianException("keyring " + path + " does not exist");
        } catch (IOException e) {
            throw new DebianException("cannot read keyring " + path + ": " + e.getMessage(), e);
        }
    }

    /** The keyring in {@code data}, read from {@code path} (named in errors). */
    static Keyring of(Path path, byte[] data) {
        try {
            if (new String(data, 0, Math.min(data.length, 4096), StandardCharsets.ISO_8859_1).contains(ARMOR)) {
                // every block: keyrings made by concatenating exported keys hold several
                String text = new String(data, StandardCharsets.US_ASCII);
                List<byte[]> blocks = new ArrayList<>();
                for (int at = text.indexOf(ARMOR); at >= 0; at = text.indexOf(ARMOR, at + ARMOR.length())) {
                    blocks.add(OpenPgp.dearmor(text.substring(at)));
                }
                data = OpenPgp.concat(blocks.toArray(byte[][]::new));
            }
            List<Cert> certs = parse(OpenPgp.packets(data));
            if (certs.isEmpty()) {
                throw new DebianException("keyring " + path + " holds no public key");
            }
            return new Keyring(path, certs);
        } catch (Malformed e) {
            throw new DebianException("keyring " + path + " is not an OpenPGP public keyring: " + e.getMessage(), e);
        }
    }

    /**
     * Groups packets into certificates: a primary key, then its direct signatures, user IDs with their
     * certifications, and subkeys with their binding signatures. Keys of a version Kiln does not read
     * are skipped with everything that belongs to them, and so are signatures it cannot read.
     */
    private static List<Cert> parse(List<Packet> packets) throws Malformed {
        List<Cert> certs = new ArrayList<>();
        Cert cert = null;
        Subkey subkey = null;
        List<Sig> sigs = null;
        for (Packet packet : packets) {
            switch (packet.tag()) {
                case OpenPgp.PUBLIC_KEY -> {
                    Key key = readableKey(packet);
                    cert = key == null ? null : new Cert(key, new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
                    subkey = null;
                    if (cert != null) {
                        certs.add(cert);
                    }
                    sigs = cert == null ? null : cert.direct();
                }
                case OpenPgp.USER_ID -> {
                    sigs = null;
                    if (cert != null) {
                        UserId uid = new UserId(packet.body(), new ArrayList<>());
                        cert.userIds().add(uid);
                        sigs = uid.sigs();
                    }
                }
                case OpenPgp.PUBLIC_SUBKEY -> {
                    sigs = null;
                    subkey = null;
                    Key key = cert == null ? null : readableKey(packet);
                    if (key != null) {
                        subkey = new Subkey(key, new ArrayList<>());
                        cert.subkeys().add(subkey);
                        sigs = subkey.sigs();
                    }
                }
                case OpenPgp.SIGNATURE -> {
                    if (cert == null) {
                        continue;
                    }
                    Sig sig;
                    try {
                        sig = Sig.parse(packet.body());
                    } catch (Malformed unreadable) {
                        // a signature Kiln cannot read cannot vouch for anything, but a revocation it cannot read
                        // (a v3 one, say) still revokes: failing closed
                        if (revocationType(packet.body()) == OpenPgp.KEY_REVOCATION) {
                            cert.unreadableRevocations().add(unreadable.getMessage());
                        }
                        continue;
                    }
                    // revocations and direct-key signatures belong to their key wherever they stand: a revocation
                    // placed after a user ID or another subkey must not be read as something else and ignored
                    if (sig.type() == OpenPgp.KEY_REVOCATION || sig.type() == OpenPgp.DIRECT_KEY) {
                        cert.direct().add(sig);
                    } else if (sig.type() == OpenPgp.SUBKEY_REVOCATION || sig.type() == OpenPgp.SUBKEY_BINDING) {
                        if (subkey != null) {
                            subkey.sigs().add(sig);
                        }
                    } else if (sigs != null) {
                        sigs.add(sig);
                    }
                }
                // user attributes (photos) and anything else: their signatures are not Kiln's concern
                default -> sigs = packet.tag() == 12 ? sigs : null;
            }
        }
        return certs;
    }

    /** The signature type of a v3 or v4 signature body, without parsing the rest; -1 when neither. */
    private static int revocationType(byte[] body) {
        if (body.length > 2 && body[0] == 4) {
            return body[1] & 0xFF;
        }
        return body.length > 3 && body[0] == 3 ? body[2] & 0xFF : -1;
    }

    private static Key readableKey(Packet packet) throws Malformed {
        byte[] body = packet.body();
        if (body.length > 0 && body[0] != 4) {
            return null;
        }
        return Key.parse(body);
    }

    public Path path() {
        return path;
    }

    /** The key that made this signature, with why it may not sign at {@code now}; null when no key of the keyring did. */
    Signer signer(Sig sig, Instant now) {
        for (Cert cert : certs) {
            if (sig.issuedBy(cert.primary())) {
                return new Signer(cert.primary(), primaryProblem(cert, now, true));
            }
            for (Subkey subkey : cert.subkeys()) {
                if (sig.issuedBy(subkey.key())) {
                    return new Signer(subkey.key(), subkeyProblem(cert, subkey, now));
                }
            }
        }
        return null;
    }

    private String primaryProblem(Cert cert, Instant now, boolean signs) {
        Key primary = cert.primary();
        if (primary.unsupported() != null) {
            return primary.unsupported();
        }
        if (primary.created().isAfter(now.plus(OpenPgp.CLOCK_SKEW))) {
            return "was created " + primary.created() + ", in the future";
        }
        if (!cert.unreadableRevocations().isEmpty()) {
            return "is revoked (by a revocation signature Kiln cannot read: " + cert.unreadableRevocations().get(0) + ")";
        }
        byte[] key = primary.hashed();
        for (Sig sig : cert.direct()) {
            // whatever its hash: a revocation is never ignored for being weak. One Kiln cannot check at all
            // (a designated revoker's, whose key is not here, or an unknown algorithm) is believed: failing closed
            if (sig.type() == OpenPgp.KEY_REVOCATION && (!sig.issuedBy(primary) || !Boolean.FALSE.equals(sig.revokes(primary, key)))) {
                return "is revoked";
            }
        }
        Sig direct = newest(cert.direct().stream().filter(s -> s.type() == OpenPgp.DIRECT_KEY && s.issuedBy(primary)
                && usable(s, now, primary) && verified(s, primary, key)).toList(), null);
        Sig certification = null;
        for (UserId uid : cert.userIds()) {
            byte[] text = OpenPgp.hashedUserId(uid.text());
            certification = newest(uid.sigs().stream().filter(s -> isCertification(s) && s.issuedBy(primary)
                    && usable(s, now, primary) && verified(s, primary, key, text)).toList(), certification);
        }
        if (certification == null && direct == null) {
            return "has no valid self-signature" + selfSignatureProblem(cert, primary, now);
        }
        // either self-signature may set an expiry or restrict use; the stricter one holds
        for (Sig self : java.util.Arrays.asList(direct, certification)) {
            if (self == null) {
                continue;
            }
            String expired = expired(primary, self, now);
            if (expired != null) {
                return expired;
            }
            if (signs && self.keyFlags() != null && (self.keyFlags() & 0x02) == 0) {
                return "may not sign data";
            }
        }
        return null;
    }

    /**
     * Why the newest self-signature does not count when the reason is its own (dated in the future, made
     * before its key, a SHA-1 hash, a malformed subpacket), or "" (none, or it does not verify).
     */
    private static String selfSignatureProblem(Cert cert, Key primary, Instant now) {
        Stream<Sig> direct = cert.direct().stream().filter(s -> s.type() == OpenPgp.DIRECT_KEY);
        Stream<Sig> certifications = cert.userIds().stream().flatMap(u -> u.sigs().stream()).filter(Keyring::isCertification);
        return Stream.concat(direct, certifications).filter(s -> s.issuedBy(primary))
                .max(Comparator.comparing(Sig::created))
                .map(s -> s.unusable(now, primary))
                .map(why -> ": its newest self-signature " + why)
                .orElse("");
    }

    /** A user ID certification (types 0x10 to 0x13); made by the key itself, it binds the key to that user ID. */
    private static boolean isCertification(Sig sig) {
        return sig.type() >= 0x10 && sig.type() <= 0x13;
    }

    private String subkeyProblem(Cert cert, Subkey subkey, Instant now) {
        Key primary = cert.primary();
        String problem = primaryProblem(cert, now, false);
        if (problem != null) {
            return "belongs to primary key " + OpenPgp.hexId(primary.id()) + ", which " + problem;
        }
        Key key = subkey.key();
        if (key.unsupported() != null) {
            return key.unsupported();
        }
        if (key.created().isAfter(now.plus(OpenPgp.CLOCK_SKEW))) {
            return "was created " + key.created() + ", in the future";
        }
        byte[] primaryBytes = primary.hashed();
        byte[] keyBytes = key.hashed();
        for (Sig sig : subkey.sigs()) {
            if (sig.type() == OpenPgp.SUBKEY_REVOCATION
                    && (!sig.issuedBy(primary) || !Boolean.FALSE.equals(sig.revokes(primary, primaryBytes, keyBytes)))) {
                return "is revoked";
            }
        }
        Sig binding = newest(subkey.sigs().stream().filter(s -> s.type() == OpenPgp.SUBKEY_BINDING && s.issuedBy(primary)
                && usable(s, now, primary, key) && verified(s, primary, primaryBytes, keyBytes)).toList(), null);
        if (binding == null) {
            return "is not bound to its primary key by a valid signature";
        }
        String expired = expired(key, binding, now);
        if (expired != null) {
            return expired;
        }
        if (binding.keyFlags() != null && (binding.keyFlags() & 0x02) == 0) {
            return "may not sign data";
        }
        // a signing subkey must also sign its binding back, or anyone could claim someone else's subkey (gpg insists too)
        Sig back;
        try {
            back = binding.embedded() == null ? null : Sig.parse(binding.embedded());
        } catch (Malformed e) {
            back = null;
        }
        Sig backSig = back;
        // its times count too: not before the subkey existed, not in the future, not expired
        String backTime = backSig != null && backSig.type() == OpenPgp.PRIMARY_KEY_BINDING ? backSig.unusable(now, key) : null;
        if (backTime != null) {
            return "is not cross-certified: its primary key binding signature " + backTime;
        }
        boolean crossCertified = backSig != null && backSig.type() == OpenPgp.PRIMARY_KEY_BINDING
                && checked.computeIfAbsent(new Check(binding, true), c -> backSig.verifiedBy(key, primaryBytes, keyBytes));
        return crossCertified ? null : "is not cross-certified (no valid primary key binding signature)";
    }

    private static boolean usable(Sig sig, Instant now, Key... keys) {
        return sig.unusable(now, keys) == null;
    }

    private boolean verified(Sig sig, Key key, byte[]... data) {
        return checked.computeIfAbsent(new Check(sig, false), c -> sig.verifiedBy(key, data));
    }

    private static Sig newest(List<Sig> sigs, Sig current) {
        Sig newest = sigs.stream().max(Comparator.comparing(Sig::created)).orElse(null);
        return newest == null || current != null && !newest.created().isAfter(current.created()) ? current : newest;
    }

    private static String expired(Key key, Sig self, Instant now) {
        if (self.keyExpiresAfter() > 0) {
            Instant end = key.created().plusSeconds(self.keyExpiresAfter());
            if (end.isBefore(now)) {
                return "expired on " + end;
            }
        }
        return null;
    }
}
