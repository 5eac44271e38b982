package dev.kiln.debian;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * The part of OpenPGP (RFC 4880, RFC 9580) that checking an archive's signature needs: version 4
 * public keys and signatures, RSA or Ed25519, over SHA-2. It reads packets and builds the bytes each
 * signature hashed; the cryptography is the JDK's. Whatever else it meets it refuses or leaves unused,
 * never guesses: a signature it cannot fully check does not count.
 */
final class OpenPgp {

    static final int SIGNATURE = 2;
    static final int PUBLIC_KEY = 6;
    static final int USER_ID = 13;
    static final int PUBLIC_SUBKEY = 14;

    static final int TEXT = 0x01;
    static final int SUBKEY_BINDING = 0x18;
    static final int PRIMARY_KEY_BINDING = 0x19;
    static final int DIRECT_KEY = 0x1F;
    static final int KEY_REVOCATION = 0x20;
    static final int SUBKEY_REVOCATION = 0x28;

    private static final int RSA = 1;
    private static final int RSA_SIGN_ONLY = 3;
    private static final int EDDSA_LEGACY = 22;
    private static final int ED25519 = 27;
    /** The OID of Ed25519 as legacy EdDSA keys name their curve (RFC 9580 section 9.2). */
    private static final byte[] ED25519_OID = {0x2B, 0x06, 0x01, 0x04, 0x01, (byte) 0xDA, 0x47, 0x0F, 0x01};
    /** DER of an Ed25519 SubjectPublicKeyInfo up to the 32 key bytes (RFC 8410). */
    private static final byte[] ED25519_SPKI = {0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00};
    private static final int MIN_RSA_BITS = 2048;
    /** How far ahead of this machine's clock a signature or key may be dated: the same allowance as a Release's Date. */
    static final java.time.Duration CLOCK_SKEW = java.time.Duration.ofMinutes(10);
    /** Larger moduli are refused: each signature check costs the cube of the size, and no archive key is this big. */
    private static final int MAX_RSA_BITS = 16384;

    private OpenPgp() {
    }

    /** Thrown for bytes that are not the OpenPGP this class reads; the message says what and where. */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message);
        }
    }

    record Packet(int tag, byte[] body) {
    }

    /** Splits binary OpenPGP data into its packets (old and new headers; no partial lengths, which keys and signatures never use). */
    static List<Packet> packets(byte[] data) throws Malformed {
        List<Packet> packets = new ArrayList<>();
        int p = 0;
        while (p < data.length) {
            int start = p;
            int header = data[p++] & 0xFF;
            if ((header & 0x80) == 0) {
                throw new Malformed("no packet header at byte " + start);
            }
            int tag;
            long length;
            if ((header & 0x40) != 0) {
                tag = header & 0x3F;
                int first = at(data, p++);
                if (first < 192) {
                    length = first;
                } else if (first < 224) {
                    length = ((first - 192L) << 8) + at(data, p++) + 192;
                } else if (first == 255) {
                    length = uint32(data, p);
                    p += 4;
                } else {
                    throw new Malformed("packet at byte " + start + " has a partial body length");
                }
            } else {
                tag = (header >> 2) & 0x0F;
                int size = header & 0x03;
                if (size == 3) {
                    throw new Malformed("packet at byte " + start + " has an indeterminate length");
                }
                int octets = 1 << size;
                length = 0;
                for (int k = 0; k < octets; k++) {
                    length = (length << 8) | at(data, p++);
                }
            }
            if (length > data.length - p) {
                throw new Malformed("packet at byte " + start + " claims " + length + " bytes; " + (data.length - p) + " are left");
            }
            packets.add(new Packet(tag, Arrays.copyOfRange(data, p, p + (int) length)));
            p += (int) length;
        }
        return packets;
    }

    /** The binary content of an ASCII-armored block ({@code -----BEGIN PGP ...}); the optional CRC-24 line is not checked (RFC 9580 section 6.1). */
    static byte[] dearmor(String armor) throws Malformed {
        List<String> lines = armor.lines().map(String::strip).toList();
        int i = 0;
        while (i < lines.size() && !lines.get(i).startsWith("-----BEGIN PGP ")) {
            i++;
        }
        if (i == lines.size()) {
            throw new Malformed("no '-----BEGIN PGP' armor line");
        }
        i++;
        while (i < lines.size() && !lines.get(i).isEmpty()) {
            if (!lines.get(i).contains(": ")) {
                throw new Malformed("armor header '" + lines.get(i) + "' is not 'Key: Value'");
            }
            i++;
        }
        StringBuilder base64 = new StringBuilder();
        String checksum = null;
        for (i++; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("-----END PGP ")) {
                byte[] data;
                try {
                    data = Base64.getDecoder().decode(base64.toString());
                } catch (IllegalArgumentException e) {
                    throw new Malformed("the armored data is not base64: " + e.getMessage());
                }
                // optional, but when present it must match: gpg refuses a block whose checksum does not
                if (checksum != null && !checksum.equals(crc24(data))) {
                    throw new Malformed("the armor checksum =" + checksum + " does not match its data");
                }
                return data;
            }
            if (line.startsWith("=")) {
                checksum = line.substring(1);
            } else {
                base64.append(line);
            }
        }
        throw new Malformed("no '-----END PGP' armor line");
    }

    /** The CRC-24 of RFC 4880 section 6.1, base64 as an armor checksum line carries it. */
    private static String crc24(byte[] data) {
        int crc = 0xB704CE;
        for (byte b : data) {
            crc ^= (b & 0xFF) << 16;
            for (int k = 0; k < 8; k++) {
                crc <<= 1;
                if ((crc & 0x1000000) != 0) {
                    crc ^= 0x1864CFB;
                }
            }
        }
        crc &= 0xFFFFFF;
        return Base64.getEncoder().encodeToString(new byte[] {(byte) (crc >> 16), (byte) (crc >> 8), (byte) crc});
    }

    /** A version 4 public key or subkey. {@code jca} is null when Kiln cannot verify with it; {@code unsupported} says why. */
    record Key(byte[] body, byte[] fingerprint, long id, int algorithm, Instant created, PublicKey jca, String unsupported) {

        static Key parse(byte[] body) throws Malformed {
            if (body.length < 6 || body[0] != 4) {
                throw new Malformed("public key of version " + (body.length == 0 ? "?" : body[0]) + " (only version 4 is read)");
            }
            byte[] fingerprint = sha1(new byte[] {(byte) 0x99, (byte) (body.length >> 8), (byte) body.length}, body);
            long id = 0;
            for (int k = 12; k < 20; k++) {
                id = (id << 8) | (fingerprint[k] & 0xFF);
            }
            Instant created = Instant.ofEpochSecond(uint32(body, 1));
            int algorithm = body[5] & 0xFF;
            PublicKey jca = null;
            String unsupported = null;
            Reader r = new Reader(body, 6);
            try {
                switch (algorithm) {
                    case RSA, RSA_SIGN_ONLY -> {
                        BigInteger n = new BigInteger(1, r.mpi());
                        BigInteger e = new BigInteger(1, r.mpi());
                        if (n.bitLength() < MIN_RSA_BITS) {
                            unsupported = "is RSA of " + n.bitLength() + " bits, fewer than " + MIN_RSA_BITS;
                        } else if (n.bitLength() > MAX_RSA_BITS || !n.testBit(0)) {
                            unsupported = "has an RSA modulus that is " + (n.testBit(0) ? "longer than " + MAX_RSA_BITS + " bits" : "even");
                        } else if (!e.testBit(0) || e.compareTo(BigInteger.valueOf(3)) < 0 || e.bitLength() > 256 || e.compareTo(n) >= 0) {
                            // e = 1 makes every value its own signature; even or huge exponents are not RSA keys anyone made
                            unsupported = "has RSA public exponent " + (e.bitLength() > 64 ? "of " + e.bitLength() + " bits" : e.toString())
                                    + ", not an odd number from 3 to 2^256";
                        } else {
                            jca = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
                        }
                    }
                    case EDDSA_LEGACY -> {
                        byte[] oid = r.bytes(r.u8());
                        byte[] point = r.mpi();
                        if (!Arrays.equals(oid, ED25519_OID)) {
                            unsupported = "is EdDSA on a curve other than Ed25519";
                        } else if (point.length != 33 || point[0] != 0x40) {
                            throw new Malformed("Ed25519 key " + hexId(id) + " has no native 32-byte point");
                        } else {
                            jca = ed25519(Arrays.copyOfRange(point, 1, 33));
                        }
                    }
                    case ED25519 -> jca = ed25519(r.bytes(32));
                    default -> unsupported = "uses public-key algorithm " + algorithm + " (Kiln verifies RSA and Ed25519)";
                }
            } catch (GeneralSecurityException e) {
                throw new Malformed("key " + hexId(id) + " is not a valid public key: " + e.getMessage());
            }
            return new Key(body, fingerprint, id, algorithm, created, jca, unsupported);
        }

        /** The key as a signature over it hashes it: 0x99, two length octets, the packet body. */
        byte[] hashed() {
            byte[] out = new byte[body.length + 3];
            out[0] = (byte) 0x99;
            out[1] = (byte) (body.length >> 8);
            out[2] = (byte) body.length;
            System.arraycopy(body, 0, out, 3, body.length);
            return out;
        }
    }

    /**
     * A version 4 signature. Only what Kiln acts on is kept; {@code flaw} is set when the signature
     * must not count whatever its cryptography says (an unknown critical subpacket, a weak hash).
     */
    record Sig(int type, int algorithm, int hash, byte[] hashedPart, byte[] left16, byte[] value,
               Instant created, long expiresAfter, long keyExpiresAfter, Integer keyFlags,
               long issuer, byte[] issuerFingerprint, byte[] embedded, String flaw) {

        static Sig parse(byte[] body) throws Malformed {
            if (body.length < 6 || body[0] != 4) {
                throw new Malformed("signature of version " + (body.length == 0 ? "?" : body[0]) + " (only version 4 is read)");
            }
            Reader r = new Reader(body, 1);
            int type = r.u8();
            int algorithm = r.u8();
            int hash = r.u8();
            int hashedLength = r.u16();
            int hashedEnd = r.at + hashedLength;
            Subpackets sub = new Subpackets();
            String flaw = sub.read(r, hashedEnd, true);
            byte[] hashedPart = Arrays.copyOfRange(body, 0, hashedEnd);
            int unhashedLength = r.u16();
            int unhashedEnd = r.at + unhashedLength;
            // the unhashed area is anyone's to edit: it may only fill in hints the hashed one lacks
            Subpackets unhashed = new Subpackets();
            String unhashedFlaw = unhashed.read(r, unhashedEnd, false);
            flaw = flaw != null ? flaw : unhashedFlaw;
            if (sub.issuer == 0) {
                sub.issuer = unhashed.issuer;
            }
            if (sub.issuerFingerprint == null) {
                sub.issuerFingerprint = unhashed.issuerFingerprint;
            }
            if (sub.embedded == null) {
                sub.embedded = unhashed.embedded;
            }
            byte[] left16 = r.bytes(2);
            byte[] value = switch (algorithm) {
                case RSA, RSA_SIGN_ONLY -> r.mpi();
                case EDDSA_LEGACY -> concat(leftPad(r.mpi(), 32), leftPad(r.mpi(), 32));
                case ED25519 -> r.bytes(64);
                default -> null;
            };
            if (sub.created == null) {
                throw new Malformed("signature has no creation time");
            }
            if (flaw == null && jcaHash(hash) == null) {
                flaw = "uses hash algorithm " + hash + " (Kiln accepts SHA-224, SHA-256, SHA-384 and SHA-512)";
            }
            return new Sig(type, algorithm, hash, hashedPart, left16, value, sub.created, sub.expiresAfter,
                    sub.keyExpiresAfter, sub.keyFlags, sub.issuer, sub.issuerFingerprint, sub.embedded, flaw);
        }

        /** The issuer's key id, from the issuer fingerprint when the signature gives only that (RFC 9580 allows it); 0 when neither. */
        long issuerId() {
            if (issuer != 0 || issuerFingerprint == null) {
                return issuer;
            }
            return uint64(Arrays.copyOfRange(issuerFingerprint, 12, 20));
        }

        /** Whether the signature names this key as its issuer (by fingerprint when it gives one, else by key id). */
        boolean issuedBy(Key key) {
            return issuerFingerprint != null ? Arrays.equals(issuerFingerprint, key.fingerprint()) : issuer == key.id();
        }

        /** Why the signature does not count at {@code now} apart from its cryptography, or null. */
        String unusable(Instant now) {
            if (flaw != null) {
                return flaw;
            }
            if (created.isAfter(now.plus(CLOCK_SKEW))) {
                return "is dated " + created + ", in the future";
            }
            if (expiresAfter > 0 && created.plusSeconds(expiresAfter).isBefore(now)) {
                return "expired on " + created.plusSeconds(expiresAfter);
            }
            return null;
        }

        /** As {@link #unusable(Instant)}, and not made before the newest of {@code keys} existed. */
        String unusable(Instant now, Key... keys) {
            String why = unusable(now);
            for (Key key : keys) {
                if (why == null && created.isBefore(key.created())) {
                    why = "was made " + created + ", before its key " + hexId(key.id()) + " was created (" + key.created() + ")";
                }
            }
            return why;
        }

        /**
         * For revocations: whether {@code key} made this signature, whatever hash it uses (a revocation
         * over SHA-1 still revokes: ignoring it would fail open). Null when Kiln cannot check it at all.
         */
        Boolean revokes(Key key, byte[]... data) {
            if (key.jca() == null || value == null || !(algorithm == key.algorithm() || isRsa(algorithm) && isRsa(key.algorithm()))
                    || anyHash(hash) == null) {
                return null;
            }
            return check(key, anyHash(hash), data);
        }

        /**
         * Whether {@code key} made this signature over {@code data} (the parts concatenated) and it counts.
         * The JDK checks the cryptography; this adds the v4 trailer and the quick check of the hash's first two octets.
         */
        boolean verifiedBy(Key key, byte[]... data) {
            if (flaw != null || key.jca() == null || value == null || algorithm != key.algorithm()
                    && !(isRsa(algorithm) && isRsa(key.algorithm()))) {
                return false;
            }
            return check(key, jcaHash(hash), data);
        }

        private boolean check(Key key, String digestName, byte[]... data) {
            byte[] trailer = {4, (byte) 0xFF, (byte) (hashedPart.length >>> 24), (byte) (hashedPart.length >>> 16),
                    (byte) (hashedPart.length >>> 8), (byte) hashedPart.length};
            try {
                MessageDigest md = MessageDigest.getInstance(digestName);
                for (byte[] d : data) {
                    md.update(d);
                }
                md.update(hashedPart);
                md.update(trailer);
                byte[] digest = md.digest();
                if (digest[0] != left16[0] || digest[1] != left16[1]) {
                    return false;
                }
                if (isRsa(algorithm)) {
                    // PKCS #1 v1.5 over the same bytes; the JDK wants the value as long as the modulus
                    Signature rsa = Signature.getInstance(digestName.replace("-", "") + "withRSA");
                    rsa.initVerify(key.jca());
                    for (byte[] d : data) {
                        rsa.update(d);
                    }
                    rsa.update(hashedPart);
                    rsa.update(trailer);
                    int size = (((java.security.interfaces.RSAPublicKey) key.jca()).getModulus().bitLength() + 7) / 8;
                    return value.length <= size && rsa.verify(leftPad(value, size));
                }
                // EdDSA in OpenPGP signs the digest, not the data
                Signature ed = Signature.getInstance("Ed25519");
                ed.initVerify(key.jca());
                ed.update(digest);
                return ed.verify(value);
            } catch (GeneralSecurityException e) {
                return false;
            }
        }
    }

    /** The subpackets Kiln reads; every other one is skipped unless it is critical. */
    private static final class Subpackets {
        Instant created;
        long expiresAfter;
        long keyExpiresAfter;
        Integer keyFlags;
        long issuer;
        byte[] issuerFingerprint;
        byte[] embedded;
        private final java.util.Set<Integer> seen = new java.util.HashSet<>();

        /** Reads up to {@code end}; returns a flaw (an unknown critical subpacket, a repeated validity subpacket) or null. */
        String read(Reader r, int end, boolean hashed) throws Malformed {
            if (end > r.data.length) {
                throw new Malformed("subpacket area runs past the signature");
            }
            String flaw = null;
            while (r.at < end) {
                int first = r.u8();
                long length;
                if (first < 192) {
                    length = first;
                } else if (first < 255) {
                    length = ((first - 192L) << 8) + r.u8() + 192;
                } else {
                    length = uint32(r.data, r.at);
                    r.at += 4;
                }
                if (length < 1 || length > end - r.at) {
                    throw new Malformed("subpacket of length " + length + " runs past its area");
                }
                int type = r.u8();
                boolean critical = (type & 0x80) != 0;
                type &= 0x7F;
                if (hashed && (type == 2 || type == 3 || type == 9 || type == 27) && !seen.add(type) && flaw == null) {
                    // readers differ on which of two creation times or expiries wins: such a signature counts for nothing
                    flaw = "has two hashed subpackets of type " + type;
                }
                Reader body = new Reader(r.bytes((int) length - 1), 0);
                // only hashed subpackets may say anything about validity; the issuer is a hint either way
                switch (type) {
                    case 2 -> created = hashed ? Instant.ofEpochSecond(body.u32()) : created;
                    case 3 -> expiresAfter = hashed ? body.u32() : expiresAfter;
                    case 9 -> keyExpiresAfter = hashed ? body.u32() : keyExpiresAfter;
                    case 27 -> {
                        // not a conditional expression: it would unbox a null keyFlags when the flags are unhashed
                        if (hashed && body.data.length > 0) {
                            keyFlags = body.data[0] & 0xFF;
                        }
                    }
                    case 16 -> issuer = uint64(body.bytes(8));
                    case 33 -> issuerFingerprint = body.u8() == 4 ? body.bytes(20) : null;
                    case 32 -> embedded = body.data;
                    // understood well enough to ignore: exportable, trust, revocable, preferences, flags, reasons, features
                    case 4, 5, 7, 11, 12, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 34, 35, 39 -> {
                    }
                    default -> flaw = critical && flaw == null ? "has an unknown critical subpacket " + type : flaw;
                }
            }
            return flaw;
        }
    }

    /** A cursor over a packet body; every read is bounds checked. */
    private static final class Reader {
        final byte[] data;
        int at;

        Reader(byte[] data, int at) {
            this.data = data;
            this.at = at;
        }

        int u8() throws Malformed {
            return at(data, at++);
        }

        int u16() throws Malformed {
            return (u8() << 8) | u8();
        }

        long u32() throws Malformed {
            long v = uint32(data, at);
            at += 4;
            return v;
        }

        byte[] bytes(int n) throws Malformed {
            if (n < 0 || n > data.length - at) {
                throw new Malformed("field of " + n + " bytes runs past its packet");
            }
            byte[] out = Arrays.copyOfRange(data, at, at + n);
            at += n;
            return out;
        }

        /** A multiprecision integer: a two-octet bit count, then the big-endian bytes. */
        byte[] mpi() throws Malformed {
            int bits = u16();
            return bytes((bits + 7) / 8);
        }
    }

    static String hexId(long id) {
        return String.format("%016X", id);
    }

    private static boolean isRsa(int algorithm) {
        return algorithm == RSA || algorithm == RSA_SIGN_ONLY;
    }

    /** The JDK's name of any hash a signature may name, weak ones too (for revocations only); null if unknown. */
    private static String anyHash(int algorithm) {
        return switch (algorithm) {
            case 1 -> "MD5";
            case 2 -> "SHA-1";
            default -> jcaHash(algorithm);
        };
    }

    /** The hash algorithm an armor {@code Hash:} header names (RFC 4880 section 9.4), or -1. */
    static int hashId(String name) {
        return switch (name) {
            case "MD5" -> 1;
            case "SHA1" -> 2;
            case "RIPEMD160" -> 3;
            case "SHA256" -> 8;
            case "SHA384" -> 9;
            case "SHA512" -> 10;
            case "SHA224" -> 11;
            case "SHA3-256" -> 12;
            case "SHA3-512" -> 14;
            default -> -1;
        };
    }

    private static String jcaHash(int algorithm) {
        return switch (algorithm) {
            case 8 -> "SHA-256";
            case 9 -> "SHA-384";
            case 10 -> "SHA-512";
            case 11 -> "SHA-224";
            default -> null;
        };
    }

    private static PublicKey ed25519(byte[] point) throws GeneralSecurityException {
        return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(concat(ED25519_SPKI, point)));
    }

    private static int at(byte[] data, int i) throws Malformed {
        if (i >= data.length) {
            throw new Malformed("data ends inside a packet");
        }
        return data[i] & 0xFF;
    }

    private static long uint32(byte[] data, int p) throws Malformed {
        return ((long) at(data, p) << 24) | (at(data, p + 1) << 16) | (at(data, p + 2) << 8) | at(data, p + 3);
    }

    private static long uint64(byte[] b) {
        long v = 0;
        for (byte x : b) {
            v = (v << 8) | (x & 0xFF);
        }
        return v;
    }

    private static byte[] leftPad(byte[] value, int size) {
        if (value.length >= size) {
            return value;
        }
        byte[] out = new byte[size];
        System.arraycopy(value, 0, out, size - value.length, value.length);
        return out;
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static byte[] sha1(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            for (byte[] p : parts) {
                md.update(p);
            }
            return md.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The user ID as a certification over it hashes it: 0xB4, four length octets, the UTF-8 text. */
    static byte[] hashedUserId(byte[] userId) {
        return concat(new byte[] {(byte) 0xB4, (byte) (userId.length >>> 24), (byte) (userId.length >>> 16),
                (byte) (userId.length >>> 8), (byte) userId.length}, userId);
    }
}
