package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reads real binaries of this (Debian, amd64) machine and compares with what readelf says. */
class ElfTest {

    @Test
    void aDynamicExecutableNamesItsInterpreterAndLibraries() throws Exception {
        Path xz = Path.of("/usr/bin/xz");
        Item.Content content = Item.Content.staged(xz, 0, Files.size(xz));
        assertThat(Elf.isElf(content)).isTrue();
        Elf elf = Elf.read(content).orElseThrow();
        assertThat(elf.interpreter()).isEqualTo("/lib64/ld-linux-x86-64.so.2");
        assertThat(elf.needed()).contains("liblzma.so.5", "libc.so.6");
    }

    @Test
    void aRunpathWithOriginIsRead() throws Exception {
        Path jli = Files.list(Path.of("/usr/lib/jvm")).map(p -> p.resolve("bin/java")).filter(Files::exists).findFirst().orElseThrow();
        Optional<Elf> elf = Elf.read(Item.Content.staged(jli, 0, Files.size(jli)));
        assertThat(elf.orElseThrow().needed()).contains("libjli.so");
        assertThat(elf.get().runpath()).anyMatch(p -> p.contains("$ORIGIN"));
    }

    @Test
    void textIsNotElf() throws Exception {
        assertThat(Elf.isElf(Item.Content.of("#!/bin/sh\necho not an ELF file at all, just text\n".repeat(3).getBytes()))).isFalse();
    }
}
