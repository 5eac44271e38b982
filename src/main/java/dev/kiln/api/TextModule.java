package dev.kiln.api;

import dev.kiln.security.UntrustedText;
import tools.jackson.core.JsonParser;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.deser.jdk.StringDeserializer;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.module.SimpleModule;

/**
 * Every text field of every request body is checked as it is read: no control characters, no
 * bidirectional overrides, at most {@link #MAX_FIELD} characters (fields with a tighter bound check it
 * themselves). The refusal names the field.
 */
final class TextModule extends SimpleModule {

    static final int MAX_FIELD = 4096;

    TextModule() {
        super("kiln-untrusted-text");
        addDeserializer(String.class, new StringDeserializer() {
            @Override
            public String deserialize(JsonParser p, DeserializationContext context) {
                String value = super.deserialize(p, context);
                if (value != null) {
                    UntrustedText.refusal(value, MAX_FIELD).ifPresent(why -> {
                        throw new Refused(p, why);
                    });
                }
                return value;
            }
        });
    }

    /** A text field refused; its path is filled in as Jackson unwinds. */
    static final class Refused extends MismatchedInputException {
        Refused(JsonParser p, String why) {
            super(p, why, String.class);
        }
    }
}
