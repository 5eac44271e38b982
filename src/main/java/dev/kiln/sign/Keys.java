package dev.kiln.sign;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * ECDSA P-256 keys in the forms cosign and OpenSSL write them: PKCS#8 private keys in PEM (plain, or
 * encrypted with a password: PBES2 as {@code openssl pkcs8 -topk8 -v2 aes-256-cbc} writes it) and
 * SubjectPublicKeyInfo public keys in PEM. Everything here is the JDK's own crypto; the one thing the
 * JDK cannot do, derive the public point from a private key, is avoided by reading the public key PKCS#8
 * keys carry (RFC 5915's optional {@code publicKey}, which OpenSSL always writes).
 */
public final class Keys {

    static final String ALGORITHM = "SHA256withECDSA";
    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
    private static final ECParameterSpec P256 = p256();

    private Keys() {
    }

    /** {@code sha256:HEX} over the DER SubjectPublicKeyInfo: a key's id in Kiln's records. */
    public static String id(PublicKey key) {
        return "sha256:" + HexFormat.of().formatHex(sha256(key.getEncoded()));
    }

    /** The public key as PEM ("PUBLIC KEY"), what {@code cosign verify --key} reads. */
    public static String pem(PublicKey key) {
        String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getEncoded());
        return "-----BEGIN PUBLIC KEY-----\n" + base64 + "\n-----END PUBLIC KEY-----\n";
    }

    /** A PEM public key (as {@code cosign public-key} or {@code kiln key} prints it); it must be ECDSA P-256. */
    public static PublicKey publicKey(String pem, String source) {
        byte[] der = pemBlock(pem, "PUBLIC KEY", source);
        try {
            PublicKey key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
            return requireP256(key, source);
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new SignException(source + ": not an ECDSA public key (" + e.getMessage() + ")", e);
        }
    }

    /** An ECDSA P-256 private key with its public key, from PKCS#8 PEM; {@code password} only for an encrypted one. */
    public static java.security.KeyPair keyPair(String pem, char[] password, String source) {
        Matcher m = PEM.matcher(pem);
        if (!m.find()) {
            throw new SignException(source + ": no PEM block; expected a PKCS#8 private key (BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY)");
        }
        String type = m.group(1);
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        byte[] pkcs8 = switch (type) {
            case "PRIVATE KEY" -> der;
            case "ENCRYPTED PRIVATE KEY" -> decrypt(der, password, source);
            case "EC PRIVATE KEY" -> throw new SignException(source + ": a SEC1 'EC PRIVATE KEY'; convert it to PKCS#8 with "
                    + "'openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.p8' (or -v2 aes-256-cbc to encrypt it)");
            case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY" -> throw new SignException(source
                    + ": cosign's own encrypted key format; Kiln reads PKCS#8 PEM: make one with "
                    + "'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256' (see docs/signing.md)");
            default -> throw new SignException(source + ": a PEM '" + type + "' block; expected a PKCS#8 private key");
        };
        try {
            PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
            if (!(key instanceof ECPrivateKey ec) || !isP256(ec.getParams())) {
                throw new SignException(source + ": not an ECDSA P-256 key; Kiln signs with P-256 as cosign does by default");
            }
            PublicKey pub = publicPoint(pkcs8, source);
            java.security.KeyPair pair = new java.security.KeyPair(pub, key);
            // a public key that does not belong to the private one would make every signature unverifiable
            byte[] probe = "kiln key check".getBytes(StandardCharsets.US_ASCII);
            if (!verify(pub, probe, sign(key, probe))) {
                throw new SignException(source + ": the public key in the file does not match its private key");
            }
            return pair;
        } catch (GeneralSecurityException e) {
            throw new SignException(source + ": not an ECDSA P-256 key in PKCS#8 (" + e.getMessage() + ")", e);
        }
    }

    static byte[] sign(PrivateKey key, byte[] message) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(key);
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new SignException("signing: " + e.getMessage(), e);
        }
    }

    /** Whether {@code signature} (ASN.1 DER ECDSA) is {@code key}'s over SHA-256 of {@code message}. */
    public static boolean verify(PublicKey key, byte[] message, byte[] signature) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(message);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static PublicKey requireP256(PublicKey key, String source) {
        if (!(key instanceof ECPublicKey ec) || !isP256(ec.getParams())) {
            throw new SignException(source + ": not an ECDSA P-256 public key");
        }
        return key;
    }

    private static boolean isP256(ECParameterSpec params) {
        return params.getCurve().equals(P256.getCurve()) && params.getGenerator().equals(P256.getGenerator())
                && params.getOrder().equals(P256.getOrder());
    }

    private static byte[] pemBlock(String pem, String type, String source) {
        Matcher m = PEM.matcher(pem);
        while (m.find()) {
            if (m.group(1).equals(type)) {
                return Base64.getMimeDecoder().decode(m.group(2));
            }
        }
        throw new SignException(source + ": no PEM '" + type + "' block");
    }

    /**
     * Decrypts an EncryptedPrivateKeyInfo. The JDK names a PBES2 scheme by its parameters
     * ("PBEWithHmacSHA256AndAES_256"), not by the outer algorithm, so the cipher is looked up by those.
     */
    private static byte[] decrypt(byte[] der, char[] password, String source) {
        if (password == null || password.length == 0) {
            throw new SignException(source + ": the key is encrypted and no password is configured "
                    + "(kiln.signing.password-file or the KILN_SIGNING_PASSWORD environment variable)");
        }
        try {
            EncryptedPrivateKeyInfo info = new EncryptedPrivateKeyInfo(der);
            AlgorithmParameters params = info.getAlgParameters();
            String scheme = params != null ? params.toString() : info.getAlgName();
            SecretKeyFactory factory = SecretKeyFactory.getInstance(scheme);
            Cipher cipher = Cipher.getInstance(scheme);
            cipher.init(Cipher.DECRYPT_MODE, factory.generateSecret(new PBEKeySpec(password)), params);
            return info.getKeySpec(cipher).getEncoded();
        } catch (java.security.spec.InvalidKeySpecException e) {
            throw new SignException(source + ": cannot decrypt the key: wrong password?", e);
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new SignException(source + ": cannot decrypt the key (" + e.getMessage() + "); Kiln reads PBES2 "
                    + "(PBKDF2 with AES) as 'openssl pkcs8 -topk8 -v2 aes-256-cbc' writes it", e);
        }
    }

    /** The public point from PKCS#8 → ECPrivateKey (RFC 5915) → [1] publicKey BIT STRING. */
    private static PublicKey publicPoint(byte[] pkcs8, String source) throws GeneralSecurityException {
        Der outer = new Der(pkcs8).sequence();
        outer.next(0x02); // version
        outer.next(0x30); // algorithm
        Der inner = new Der(outer.next(0x04)).sequence();
        inner.next(0x02); // version 1
        inner.next(0x04); // private value
        byte[] bits = null;
        while (inner.more()) {
            int tag = inner.peek();
            byte[] value = inner.next(tag);
            if (tag == 0xa1) {
                bits = new Der(value).next(0x03);
            }
        }
        if (bits == null || bits.length != 66 || bits[0] != 0 || bits[1] != 4) {
            throw new SignException(source + ": the key file carries no public key; write it with OpenSSL "
                    + "('openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out KEY'), which includes it");
        }
        BigInteger x = new BigInteger(1, Arrays.copyOfRange(bits, 2, 34));
        BigInteger y = new BigInteger(1, Arrays.copyOfRange(bits, 34, 66));
        return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(x, y), P256));
    }

    private static ECParameterSpec p256() {
        try {
            AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
            params.init(new ECGenParameterSpec("secp256r1"));
            return params.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Just enough DER to walk the two sequences above: definite lengths, one-byte tags. */
    private static final class Der {
        private final byte[] bytes;
        private int pos;

        Der(byte[] bytes) {
            this.bytes = bytes;
        }

        Der sequence() {
            return new Der(next(0x30));
        }

        boolean more() {
            return pos < bytes.length;
        }

        int peek() {
            return bytes[pos] & 0xff;
        }

        byte[] next(int tag) {
            if (pos + 2 > bytes.length || (bytes[pos] & 0xff) != tag) {
                throw new SignException("malformed key: expected DER tag " + Integer.toHexString(tag) + " at byte " + pos);
            }
            pos++;
            int length = bytes[pos++] & 0xff;
            if (length > 0x80) {
                int n = length - 0x80;
                if (n > 3) {
                    throw new SignException("malformed key: DER length of " + n + " bytes");
                }
                length = 0;
                for (int i = 0; i < n; i++) {
                    length = length << 8 | bytes[pos++] & 0xff;
                }
            }
            if (length < 0 || pos + length > bytes.length) {
                throw new SignException("malformed key: DER value runs past the end");
            }
            byte[] value = Arrays.copyOfRange(bytes, pos, pos + length);
            pos += length;
            return value;
        }
    }
}
