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
    void aMalformedHeaderIsNotAProgramToResolveNotACrash() throws Exception {
        // a package's bytes: program headers 1 byte apart, before the file, past its end, an interpreter at a negative offset;
        // each threw an unchecked IndexOutOfBoundsException ("null") out of the image checks
        for (long[] header : new long[][] {{64, 1, 1}, {-64, 56, 1}, {1L << 40, 56, 1}, {64, 56, 0xffff}}) {
            java.nio.ByteBuffer elf = elf64();
            elf.putLong(0x20, header[0]).putShort(0x36, (short) header[1]).putShort(0x38, (short) header[2]);
            assertThat(Elf.read(Item.Content.of(elf.array()))).as("phoff %d, phentsize %d, phnum %d", header[0], header[1], header[2]).isEmpty();
        }
        java.nio.ByteBuffer interp = elf64();
        interp.putLong(0x20, 64).putShort(0x36, (short) 56).putShort(0x38, (short) 1);
        interp.putInt(64, 3).putLong(64 + 8, -4096).putLong(64 + 32, 16); // PT_INTERP at offset -4096
        assertThat(Elf.read(Item.Content.of(interp.array()))).isEmpty();
        interp.putLong(64 + 8, 120).putLong(64 + 32, 8);
        interp.put(120, "/lib/ld\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(Elf.read(Item.Content.of(interp.array())).orElseThrow().interpreter()).as("the same file, well formed").isEqualTo("/lib/ld");
    }

    /** A 128-byte little-endian ELF64 executable header, its program headers left to the caller. */
    private static java.nio.ByteBuffer elf64() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(128).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(16, (short) 3);
        return b;
    }

    @Test
    void textIsNotElf() throws Exception {
        assertThat(Elf.isElf(Item.Content.of("#!/bin/sh\necho not an ELF file at all, just text\n".repeat(3).getBytes()))).isFalse();
    }
}
