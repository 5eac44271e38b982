package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reads real binaries of this (Debian, amd64) machine and compares with what readelf says; resolves synthetic ones as ld.so would. */
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

    @Test
    void aFileTooShortForAnElfHeaderHasNoMachineToCheck() throws Exception {
        assertThat(Elf.header(Item.Content.of(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}))).isNull();
        byte[] arm64 = new byte[20];
        System.arraycopy(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}, 0, arm64, 0, 7);
        arm64[16] = 2;
        arm64[18] = (byte) 183;
        assertThat(Elf.header(Item.Content.of(arm64))).isEqualTo(new Elf.Header(2, 183, true));
    }

    @Test
    void sixtyFiveThousandMissingLibrariesAreReadOnceAndListedAsTwoHundredProblemsAndACount() throws Exception {
        // a 1.5 MB file naming 65,535 libraries, without DT_STRSZ: each name was a read of its own (2.2 s for this file), and
        // each missing one a line of the error, the CLI's output and the build record
        int n = 65_535;
        int strOff = 64 + 2 * 56;
        int dynOff = strOff + n * 8;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(dynOff + (n + 2) * 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        // an x86-64 shared object (e_machine 62): the image is for amd64, so the machine check lets it through
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}).putShort(16, (short) 3).putShort(18, (short) 62);
        b.putLong(0x20, 64).putShort(0x36, (short) 56).putShort(0x38, (short) 2);
        b.putInt(64, 1).putLong(64 + 32, b.capacity()); // PT_LOAD: the whole file at address 0
        b.putInt(120, 2).putLong(120 + 8, dynOff).putLong(120 + 32, (n + 2) * 16L); // PT_DYNAMIC
        for (int i = 0; i < n; i++) {
            b.put(strOff + i * 8, String.format("l%05d.so", i).getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, 7);
        }
        b.putLong(dynOff, 5).putLong(dynOff + 8, strOff); // DT_STRTAB
        for (int i = 0; i < n; i++) {
            b.putLong(dynOff + 16 + i * 16, 1).putLong(dynOff + 24 + i * 16, i * 8L); // DT_NEEDED
        }
        Path file = Files.createTempFile("many-needed", ".elf");
        try {
            Files.write(file, b.array());
            Item.Content content = Item.Content.staged(file, 0, Files.size(file));
            Elf elf = Elf.read(content).orElseThrow();
            assertThat(elf.needed()).hasSize(n).startsWith("l00000.", "l00001.").endsWith("l65534.");

            Rootfs fs = new Rootfs();
            fs.add(new Item("usr/bin/many", Item.Type.FILE, 0755, 0, 0, 0, null, content));
            List<String> problems = Verifier.verify(fs, stack("amd64"), Map.of()).problems();
            assertThat(problems).hasSize(Verifier.MAX_PROBLEMS + 1);
            assertThat(problems.get(0)).startsWith("/usr/bin/many: needs l00000., not found in the image");
            assertThat(problems.get(Verifier.MAX_PROBLEMS)).isEqualTo("... and " + (n - Verifier.MAX_PROBLEMS)
                    + " more problems (the first 200 are listed)");
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void anArm64ProgramMustFindItsLibraryInTheArm64DirectoriesNotInTheX86Ones() throws Exception {
        // the library is an aarch64 ELF, so the machine check passes it: only where it lies is wrong
        Rootfs misplaced = arm64Image("usr/lib/x86_64-linux-gnu/libfoo.so.1");
        assertThat(Verifier.verify(misplaced, stack("arm64"), Map.of()).problems()).containsExactly("/usr/bin/app: needs libfoo.so.1, not found on "
                + "its search path (searched /lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu:/lib:/usr/lib): the image has it only as "
                + "/usr/lib/x86_64-linux-gnu/libfoo.so.1, where the loader does not look");

        Verifier.Result placed = Verifier.verify(arm64Image("usr/lib/aarch64-linux-gnu/libfoo.so.1"), stack("arm64"), Map.of());
        assertThat(placed.problems()).isEmpty();
        assertThat(placed.librariesResolved()).isEqualTo(1);
        // LD_LIBRARY_PATH from the image's env is on the search path too, before the system directories
        assertThat(Verifier.verify(misplaced, stack("arm64"), Map.of("LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu")).problems()).isEmpty();
    }

    @Test
    void aPluginStillResolvesALibraryItsHostLoadedFromElsewhere() throws Exception {
        // libjava.so needs libjvm.so, which java loaded from lib/server first: a shared object keeps the name-anywhere rule
        Rootfs fs = new Rootfs();
        fs.add(file("usr/lib/x86_64-linux-gnu/libfoo.so.1", elf(3, 183, null, List.of())));
        fs.add(file("usr/lib/jvm/lib/libjava.so", elf(3, 183, null, List.of("libfoo.so.1"))));
        assertThat(Verifier.verify(fs, stack("arm64"), Map.of()).problems()).isEmpty();
        // a program (ET_EXEC, no interpreter: the kernel maps it and ld.so is still asked for its libraries) gets no such rule
        fs.add(file("usr/bin/old", elf(2, 183, null, List.of("libfoo.so.1"))));
        assertThat(Verifier.verify(fs, stack("arm64"), Map.of()).problems()).singleElement().asString()
                .startsWith("/usr/bin/old: needs libfoo.so.1, not found on its search path (searched /lib/aarch64-linux-gnu:");
    }

    /** An arm64 program needing libfoo.so.1, its interpreter, and that library (an aarch64 shared object) at {@code library}. */
    private static Rootfs arm64Image(String library) {
        Rootfs fs = new Rootfs();
        fs.add(file("usr/lib/ld-linux-aarch64.so.1", elf(3, 183, null, List.of())));
        fs.add(Item.symlink("lib", "usr/lib", 0));
        fs.add(file("usr/bin/app", elf(3, 183, "/lib/ld-linux-aarch64.so.1", List.of("libfoo.so.1"))));
        fs.add(file(library, elf(3, 183, null, List.of())));
        return fs;
    }

    private static Item file(String path, byte[] bytes) {
        return new Item(path, Item.Type.FILE, 0755, 0, 0, 0, null, Item.Content.of(bytes));
    }

    /**
     * A little-endian ELF64 file of {@code type} (2 ET_EXEC, 3 ET_DYN) for {@code machine} (183 AArch64), with a
     * PT_INTERP when {@code interpreter} is set and a dynamic section naming {@code needed}: the whole file one PT_LOAD at 0.
     */
    static byte[] elf(int type, int machine, String interpreter, List<String> needed) {
        java.io.ByteArrayOutputStream strings = new java.io.ByteArrayOutputStream();
        strings.write(0);
        int interpAt = strings.size();
        if (interpreter != null) {
            strings.writeBytes((interpreter + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        List<Integer> names = new java.util.ArrayList<>();
        for (String n : needed) {
            names.add(strings.size());
            strings.writeBytes((n + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        int phnum = interpreter != null ? 3 : 2;
        int strOff = 64 + phnum * 56;
        int dynOff = (strOff + strings.size() + 7) & ~7;
        int dynSize = (needed.size() + 3) * 16;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(dynOff + dynSize).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}).putShort(16, (short) type).putShort(18, (short) machine);
        b.putLong(0x20, 64).putShort(0x36, (short) 56).putShort(0x38, (short) phnum);
        int ph = 64;
        b.putInt(ph, 1).putLong(ph + 32, b.capacity()); // PT_LOAD
        b.putInt(ph + 56, 2).putLong(ph + 56 + 8, dynOff).putLong(ph + 56 + 32, dynSize); // PT_DYNAMIC
        if (interpreter != null) {
            b.putInt(ph + 112, 3).putLong(ph + 112 + 8, strOff + interpAt).putLong(ph + 112 + 32, interpreter.length() + 1); // PT_INTERP
        }
        b.put(strOff, strings.toByteArray());
        int at = dynOff;
        for (int name : names) {
            b.putLong(at, 1).putLong(at + 8, name); // DT_NEEDED
            at += 16;
        }
        b.putLong(at, 5).putLong(at + 8, strOff); // DT_STRTAB
        b.putLong(at + 16, 10).putLong(at + 24, strings.size()); // DT_STRSZ
        return b.array();
    }

    private static dev.kiln.catalog.Stack stack(String architecture) {
        return new dev.kiln.catalog.Stack("test", "test", "team@example.com", "1",
                new dev.kiln.catalog.Stack.Source(List.of(architecture), "keys/test.gpg", List.of()), List.of("x"), List.of(),
                new dev.kiln.catalog.Stack.User("nonroot", 65532, 65532), new dev.kiln.catalog.Stack.Hardening(true, false, false, List.of()),
                Map.of(), List.of(), List.of(), "/", Map.of(), new dev.kiln.catalog.Stack.Schedule("0 0 3 * * ?", "UTC"),
                new dev.kiln.catalog.Stack.Target("test"), "{version}-{yyyymmdd}.{n}", new dev.kiln.catalog.Stack.Retention(10, 30, 30));
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
