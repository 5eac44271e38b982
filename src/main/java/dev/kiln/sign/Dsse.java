package dev.kiln.sign;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Dead Simple Signing Envelope (secure-systems-lab/dsse v1): what is signed is the pre-authentication
 * encoding of the payload type and the payload, never the payload alone, so a signature over one type
 * cannot be replayed as another.
 */
final class Dsse {

    static final String IN_TOTO = "application/vnd.in-toto+json";

    private Dsse() {
    }

    /** {@code "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body}, lengths in ASCII decimal bytes. */
    static byte[] pae(String payloadType, byte[] payload) {
        byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + type.length + 32);
        out.writeBytes(("DSSEv1 " + type.length + " ").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(type);
        out.writeBytes((" " + payload.length + " ").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(payload);
        return out.toByteArray();
    }
}
