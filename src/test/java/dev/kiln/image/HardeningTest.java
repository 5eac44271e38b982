package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HardeningTest {

    @Test
    void copyrightFilesAndTheirDirectoriesStayWhenTheDocumentationIsDropped() {
        assertThat(Hardening.isCopyright("usr/share/doc")).isTrue();
        assertThat(Hardening.isCopyright("usr/share/doc/libc6")).isTrue();
        assertThat(Hardening.isCopyright("usr/share/doc/libc6/copyright")).isTrue();
        assertThat(Hardening.isCopyright("usr/share/doc/libc6/changelog.Debian.gz")).isFalse();
        assertThat(Hardening.isCopyright("usr/share/doc/libc6/examples/copyright")).isFalse();
        assertThat(Hardening.isCopyright("usr/share/doc-base/libc6")).isFalse();
    }
}
