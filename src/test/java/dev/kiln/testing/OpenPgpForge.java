package dev.kiln.testing;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * Makes OpenPGP keys, keyrings and clearsigned texts byte by byte, with every field under the test's
 * control: creation times before the key, hashed or unhashed subpackets, weak hashes, odd RSA
 * exponents. gpg and Bouncy Castle refuse to make most of these (that is the point of them), so the
 * test kit writes the packets itself; the cryptography is the JDK's (Ed25519, RSA PKCS #1 v1.5).
 */
public final class OpenPgpForge {

    public static final int SHA1 = 2;
    public static final int SHA256 = 8;
    public static final int SHA512 = 10;

    public static final int TEXT = 0x01;
    public static final int POSITIVE_CERTIFICATION = 0x13;
    public static final int SUBKEY_BINDING = 0x18;
    public static final int PRIMARY_KEY_BINDING = 0x19;
    public static final int KEY_REVOCATION = 0x20;
    public static final int SUBKEY_REVOCATION = 0x28;

    private static final int RSA = 1;
    private static final int EDDSA = 22;
    private static final byte[] ED25519_OID = {0x2B, 0x06, 0x01, 0x04, 0x01, (byte) 0xDA, 0x47, 0x0F, 0x01};

    private OpenPgpForge() {
    }

    /** A v4 public key with its private half (null for a key no one can sign with). */
    public record Key(int algorithm, KeyPair pair, byte[] body) {

        public byte[] fingerprint() {
            return digest("SHA-1", new byte[] {(byte) 0x99, (byte) (body.length >> 8), (byte) body.length}, body);
        }

        public byte[] keyId() {
            return Arrays.copyOfRange(fingerprint(), 12, 20);
        }

        /** The key as signatures over it hash it. */
        public byte[] hashed() {
            return concat(new byte[] {(byte) 0x99, (byte) (body.length >> 8), (byte) body.length}, body);
        }
    }

    public static Key ed25519(Instant created) {
        try {
            KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            byte[] spki = pair.getPublic().getEncoded();
            byte[] point = concat(new byte[] {0x40}, Arrays.copyOfRange(spki, spki.length - 32, spki.length));
            byte[] body = concat(header(created, EDDSA), new byte[] {(byte) ED25519_OID.length}, ED25519_OID, mpi(point));
            return new Key(EDDSA, pair, body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Key rsa(int bits, Instant created) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(new RSAKeyGenParameterSpec(bits, RSAKeyGenParameterSpec.F4));
            KeyPair pair = g.generateKeyPair();
            RSAPublicKey pub = (RSAPublicKey) pair.getPublic();
            return new Key(RSA, pair, concat(header(created, RSA), mpi(pub.getModulus().toByteArray()), mpi(pub.getPublicExponent().toByteArray())));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An RSA key with any modulus and exponent and no private half: its signatures are made by {@link Sig#forgedRsa}. */
    public static Key rsaPublic(BigInteger n, BigInteger e, Instant created) {
        return new Key(RSA, null, concat(header(created, RSA), mpi(n.toByteArray()), mpi(e.toByteArray())));
    }

    private static byte[] header(Instant created, int algorithm) {
        long t = created.getEpochSecond();
        return new byte[] {4, (byte) (t >> 24), (byte) (t >> 16), (byte) (t >> 8), (byte) t, (byte) algorithm};
    }

    /** A signature subpacket: type (with the critical bit if asked) and body. */
    public record Subpacket(int type, byte[] body) {
        byte[] encoded() {
            int length = body.length + 1;
            byte[] len = length < 192 ? new byte[] {(byte) length}
                    : new byte[] {(byte) (((length - 192) >> 8) + 192), (byte) (length - 192)};
            return concat(len, new byte[] {(byte) type}, body);
        }
    }

    public static Subpacket created(Instant t) {
        return new Subpacket(2, u32(t.getEpochSecond()));
    }

    public static Subpacket sigExpiresAfter(long seconds) {
        return new Subpacket(3, u32(seconds));
    }

    public static Subpacket keyExpiresAfter(long seconds) {
        return new Subpacket(9, u32(seconds));
    }

    public static Subpacket keyFlags(int flags) {
        return new Subpacket(27, new byte[] {(byte) flags});
    }

    public static Subpacket issuer(Key key) {
        return new Subpacket(16, key.keyId());
    }

    public static Subpacket issuerFingerprint(Key key) {
        return new Subpacket(33, concat(new byte[] {4}, key.fingerprint()));
    }

    public static Subpacket embedded(byte[] signatureBody) {
        return new Subpacket(32, signatureBody);
    }

    public static Subpacket revocationReason(int code) {
        return new Subpacket(29, concat(new byte[] {(byte) code}, "test".getBytes(StandardCharsets.UTF_8)));
    }

    /** A subpacket of an unknown type marked critical. */
    public static Subpacket criticalUnknown() {
        return new Subpacket(0x80 | 100, new byte[] {1});
    }

    /** A signature to make: what it is over, by whom, and exactly which subpackets go where. */
    public static final class Sig {
        private final int type;
        private final Key signer;
        private int hash = SHA512;
        private final List<Subpacket> hashed = new ArrayList<>();
        private final List<Subpacket> unhashed = new ArrayList<>();

        /** A signature with a creation time, the issuer fingerprint hashed and the issuer key id unhashed, as gpg makes it. */
        public Sig(int type, Key signer, Instant created) {
            this.type = type;
            this.signer = signer;
            hashed.add(created(created));
            hashed.add(issuerFingerprint(signer));
            unhashed.add(issuer(signer));
        }

        public Sig hash(int algorithm) {
            this.hash = algorithm;
            return this;
        }

        public Sig hashed(Subpacket... s) {
            hashed.addAll(List.of(s));
            return this;
        }

        public Sig unhashed(Subpacket... s) {
            unhashed.addAll(List.of(s));
            return this;
        }

        /** The signature packet body over {@code data} (the parts as the signature type hashes them). */
        public byte[] sign(byte[]... data) {
            byte[][] parts = prepare();
            byte[] digest = digest(jca(hash), concat(data), parts[0], parts[1]);
            byte[] value;
            try {
                if (signer.algorithm() == EDDSA) {
                    Signature ed = Signature.getInstance("Ed25519");
                    ed.initSign(signer.pair().getPrivate());
                    ed.update(digest);
                    byte[] rs = ed.sign();
                    value = concat(mpi(Arrays.copyOfRange(rs, 0, 32)), mpi(Arrays.copyOfRange(rs, 32, 64)));
                } else {
                    Signature rsa = Signature.getInstance(jca(hash).replace("-", "") + "withRSA");
                    rsa.initSign(signer.pair().getPrivate());
                    rsa.update(concat(data));
                    rsa.update(parts[0]);
                    rsa.update(parts[1]);
                    value = mpi(rsa.sign());
                }
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
            return finish(parts[0], digest, value);
        }

        /** For an RSA key with exponent 1: the signature value is the padded digest itself, no private key needed. */
        public byte[] forgedRsa(byte[]... data) {
            byte[][] parts = prepare();
            byte[] digest = digest(jca(hash), concat(data), parts[0], parts[1]);
            int k = (new BigInteger(1, Arrays.copyOfRange(signer.body(), 8, 8 + (((signer.body()[6] & 0xFF) << 8 | signer.body()[7] & 0xFF) + 7) / 8))
                    .bitLength() + 7) / 8;
            byte[] prefix = hash == SHA512 ? HexFormatHolder.SHA512_PREFIX : HexFormatHolder.SHA256_PREFIX;
            byte[] t = concat(prefix, digest);
            byte[] em = new byte[k];
            em[1] = 1;
            Arrays.fill(em, 2, k - t.length - 1, (byte) 0xFF);
            System.arraycopy(t, 0, em, k - t.length, t.length);
            return finish(parts[0], digest, mpi(em));
        }

        private byte[][] prepare() {
            ByteArrayOutputStream h = new ByteArrayOutputStream();
            hashed.forEach(s -> h.writeBytes(s.encoded()));
            byte[] area = h.toByteArray();
            byte[] hashedPart = concat(new byte[] {4, (byte) type, (byte) signer.algorithm(), (byte) hash, (byte) (area.length >> 8),
                    (byte) area.length}, area);
            byte[] trailer = concat(new byte[] {4, (byte) 0xFF}, u32(hashedPart.length));
            return new byte[][] {hashedPart, trailer};
        }

        private byte[] finish(byte[] hashedPart, byte[] digest, byte[] value) {
            ByteArrayOutputStream u = new ByteArrayOutputStream();
            unhashed.forEach(s -> u.writeBytes(s.encoded()));
            byte[] area = u.toByteArray();
            return concat(hashedPart, new byte[] {(byte) (area.length >> 8), (byte) area.length}, area,
                    new byte[] {digest[0], digest[1]}, value);
        }
    }

    /** DigestInfo prefixes of PKCS #1 v1.5 (RFC 8017 section 9.2). */
    private static final class HexFormatHolder {
        static final byte[] SHA256_PREFIX = java.util.HexFormat.of().parseHex("3031300d060960864801650304020105000420");
        static final byte[] SHA512_PREFIX = java.util.HexFormat.of().parseHex("3051300d060960864801650304020305000440");
    }

    /** The user ID as a certification hashes it. */
    public static byte[] userIdHashed(String uid) {
        byte[] text = uid.getBytes(StandardCharsets.UTF_8);
        return concat(new byte[] {(byte) 0xB4}, u32(text.length), text);
    }

    public static byte[] userIdPacket(String uid) {
        return packet(13, uid.getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] keyPacket(Key key) {
        return packet(6, key.body());
    }

    public static byte[] subkeyPacket(Key key) {
        return packet(14, key.body());
    }

    public static byte[] sigPacket(byte[] body) {
        return packet(2, body);
    }

    /** A new-format packet with a five-octet length. */
    public static byte[] packet(int tag, byte[] body) {
        return concat(new byte[] {(byte) (0xC0 | tag), (byte) 0xFF}, u32(body.length), body);
    }

    /** Lines joined with CRLF, trailing blanks removed, no final line break: what a clearsigned text's signature covers. */
    public static byte[] canonical(String text) {
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        if (text.endsWith("\n")) {
            lines.remove(lines.size() - 1);
        }
        return String.join("\r\n", lines.stream().map(l -> l.replaceAll("[ \t]+$", "")).toList()).getBytes(StandardCharsets.UTF_8);
    }

    /** A clearsigned message; {@code hashHeader} null leaves the Hash: header out. */
    public static String clearsign(String text, String hashHeader, byte[]... signatureBodies) {
        StringBuilder out = new StringBuilder("-----BEGIN PGP SIGNED MESSAGE-----\n");
        if (hashHeader != null) {
            out.append("Hash: ").append(hashHeader).append('\n');
        }
        out.append('\n');
        for (String line : text.split("\n")) {
            out.append(line.startsWith("-") ? "- " + line : line).append('\n');
        }
        ByteArrayOutputStream sigs = new ByteArrayOutputStream();
        for (byte[] body : signatureBodies) {
            sigs.writeBytes(sigPacket(body));
        }
        return out + armor("SIGNATURE", sigs.toByteArray());
    }

    public static String armor(String kind, byte[] data) {
        return "-----BEGIN PGP " + kind + "-----\n\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(data)
                + "\n=" + crc24(data) + "\n-----END PGP " + kind + "-----\n";
    }

    /** Written again here on purpose: a forge that shared the verifier's code would share its mistakes. */
    static String crc24(byte[] data) {
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

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] mpi(byte[] unsigned) {
        int i = 0;
        while (i < unsigned.length - 1 && unsigned[i] == 0) {
            i++;
        }
        byte[] v = Arrays.copyOfRange(unsigned, i, unsigned.length);
        int bits = new BigInteger(1, v).bitLength();
        return concat(new byte[] {(byte) (bits >> 8), (byte) bits}, v);
    }

    private static byte[] u32(long v) {
        return new byte[] {(byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v};
    }

    private static String jca(int hash) {
        return switch (hash) {
            case SHA1 -> "SHA-1";
            case SHA256 -> "SHA-256";
            case SHA512 -> "SHA-512";
            default -> throw new IllegalArgumentException("hash " + hash);
        };
    }

    private static byte[] digest(String algorithm, byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            for (byte[] p : parts) {
                md.update(p);
            }
            return md.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
