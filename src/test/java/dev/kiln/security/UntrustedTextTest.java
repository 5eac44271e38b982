package dev.kiln.security;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UntrustedTextTest {

    @Test
    void controlCharactersBidiOverridesLoneSurrogatesAndLengthAreRefused() {
        assertThat(UntrustedText.refusal("INC-7: hold, per Åsa 👍", 100)).isEmpty();
        assertThat(UntrustedText.refusal("a\u0000b", 100)).hasValue("contains the control character U+0000 at position 1");
        assertThat(UntrustedText.refusal("tab\there", 100)).hasValue("contains the control character U+0009 at position 3");
        assertThat(UntrustedText.refusal("x\u0085", 100)).hasValue("contains the control character U+0085 at position 1");
        assertThat(UntrustedText.refusal("txt.\u202Eexe", 100)).hasValue("contains the control character U+202E at position 4");
        assertThat(UntrustedText.refusal("x\uD800y", 100)).hasValue("is not valid Unicode (a lone surrogate at position 1)");
        assertThat(UntrustedText.refusal("x".repeat(11), 10)).hasValue("is longer than 10 characters (11)");
        assertThat(UntrustedText.refusal("👍".repeat(10), 10)).as("counted in code points").isEmpty();
    }

    @Test
    void textForALogLineCannotForgeALineOrRunOn() {
        assertThat(UntrustedText.forLog("bob\r\n2026-12-01 INFO admin signed in", 100))
                .isEqualTo("'bob\\u000d\\u000a2026-12-01 INFO admin signed in'");
        assertThat(UntrustedText.forLog("o'neil", 100)).isEqualTo("'o\\'neil'");
        assertThat(UntrustedText.forLog("x".repeat(5), 3)).isEqualTo("'xxx…'");
        assertThat(UntrustedText.forLog(null, 3)).isEqualTo("null");
    }
}
