package dev.kiln.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The dynamic-linking facts of an ELF file: its interpreter, DT_NEEDED libraries and search paths.
 * Reads only the program headers and the dynamic segment, at their offsets in the staged package data.
 */
record Elf(String interpreter, List<String> needed, List<String> runpath) {

    private static final int PT_LOAD = 1;
    private static final int PT_DYNAMIC = 2;
    private static final int PT_INTERP = 3;
    private static final long DT_NEEDED = 1;
    private static final long DT_STRTAB = 5;
    private static final long DT_STRSZ = 10;
    private static final long DT_RPATH = 15;
    private static final long DT_RUNPATH = 29;

    static boolean isElf(Item.Content content) throws IOException {
        if (content.size() < 64) {
            return false;
        }
        byte[] magic = content.read(0, 4);
        return magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
    }

    /**
     * Empty for ELF files that are not linked at run time (static executables, objects, other kinds) and
     * for malformed ones (offsets and sizes that point outside the file or do not fit the format): the
     * kernel would not load those either, so there is nothing of theirs to resolve.
     */
    static Optional<Elf> read(Item.Content content) throws IOException {
        try {
            return parse(content);
        } catch (IndexOutOfBoundsException | IllegalArgumentException | java.nio.BufferUnderflowException e) {
            // a package's bytes, not ours: a header out of bounds is a malformed file, not a failed build
            return Optional.empty();
        }
    }

    private static Optional<Elf> parse(Item.Content content) throws IOException {
        ByteBuffer header = ByteBuffer.wrap(content.read(0, 64));
        boolean wide = header.get(4) == 2;
        header.order(header.get(5) == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        int type = Short.toUnsignedInt(header.getShort(16));
        if (type != 2 && type != 3) { // ET_EXEC, ET_DYN
            return Optional.empty();
        }
        long phoff = wide ? header.getLong(0x20) : Integer.toUnsignedLong(header.getInt(0x1C));
        int phentsize = Short.toUnsignedInt(header.getShort(wide ? 0x36 : 0x2A));
        int phnum = Short.toUnsignedInt(header.getShort(wide ? 0x38 : 0x2C));
        if (phnum == 0 || phentsize < (wide ? 56 : 32) || phoff < 0 || phoff + (long) phnum * phentsize > content.size()) {
            return Optional.empty();
        }
        ByteBuffer ph = ByteBuffer.wrap(content.read(phoff, phnum * phentsize)).order(header.order());
        String interpreter = null;
        long dynOffset = -1;
        long dynSize = 0;
        List<long[]> loads = new ArrayList<>(); // vaddr, offset, filesz
        for (int i = 0; i < phnum; i++) {
            int base = i * phentsize;
            int pType = ph.getInt(base);
            long offset = wide ? ph.getLong(base + 8) : Integer.toUnsignedLong(ph.getInt(base + 4));
            long vaddr = wide ? ph.getLong(base + 16) : Integer.toUnsignedLong(ph.getInt(base + 8));
            long filesz = wide ? ph.getLong(base + 32) : Integer.toUnsignedLong(ph.getInt(base + 16));
            if (pType == PT_INTERP) {
                interpreter = cString(content.read(offset, (int) Math.min(filesz, 4096)), 0);
            } else if (pType == PT_DYNAMIC) {
                dynOffset = offset;
                dynSize = filesz;
            } else if (pType == PT_LOAD) {
                loads.add(new long[] {vaddr, offset, filesz});
            }
        }
        if (dynOffset < 0) {
            return interpreter == null ? Optional.empty() : Optional.of(new Elf(interpreter, List.of(), List.of()));
        }
        ByteBuffer dyn = ByteBuffer.wrap(content.read(dynOffset, (int) Math.min(dynSize, 1 << 20))).order(header.order());
        int entry = wide ? 16 : 8;
        long strtab = -1;
        long strsz = -1;
        List<Long> neededOffsets = new ArrayList<>();
        List<Long> pathOffsets = new ArrayList<>();
        for (int at = 0; at + entry <= dyn.limit(); at += entry) {
            long tag = wide ? dyn.getLong(at) : dyn.getInt(at);
            long value = wide ? dyn.getLong(at + 8) : Integer.toUnsignedLong(dyn.getInt(at + 4));
            if (tag == 0) {
                break;
            } else if (tag == DT_NEEDED) {
                neededOffsets.add(value);
            } else if (tag == DT_STRTAB) {
                strtab = value;
            } else if (tag == DT_STRSZ) {
                strsz = value;
            } else if (tag == DT_RPATH || tag == DT_RUNPATH) {
                pathOffsets.add(value);
            }
        }
        long strtabOffset = -1;
        long segmentLeft = 0;
        for (long[] load : loads) {
            if (strtab >= load[0] && strtab < load[0] + load[2]) {
                strtabOffset = strtab - load[0] + load[1];
                segmentLeft = load[0] + load[2] - strtab;
            }
        }
        if (strtabOffset < 0) {
            return Optional.of(new Elf(interpreter, List.of(), List.of()));
        }
        // the string table read once (a dynamic section of 1 MiB names 65,536 libraries: one read each took seconds per file)
        byte[] strings = content.read(strtabOffset, (int) Math.min(strsz > 0 ? strsz : segmentLeft, 1 << 24));
        java.util.Set<String> needed = new java.util.LinkedHashSet<>();
        for (long off : neededOffsets) {
            needed.add(string(content, strings, strtabOffset, off, 512));
        }
        List<String> runpath = new ArrayList<>();
        for (long off : pathOffsets) {
            for (String p : string(content, strings, strtabOffset, off, 4096).split(":")) {
                if (!p.isEmpty()) {
                    runpath.add(p);
                }
            }
        }
        return Optional.of(new Elf(interpreter, List.copyOf(needed), runpath));
    }

    /** The NUL-terminated string at {@code offset} of the string table: from its bytes when read, else from the file. */
    private static String string(Item.Content content, byte[] strings, long table, long offset, int max) throws IOException {
        if (strings != null && offset >= 0 && offset < strings.length) {
            int end = (int) offset;
            while (end < strings.length && end - offset < max && strings[end] != 0) {
                end++;
            }
            return new String(strings, (int) offset, end - (int) offset, java.nio.charset.StandardCharsets.UTF_8);
        }
        return cString(content.read(table + offset, max), 0);
    }

    private static String cString(byte[] bytes, int from) {
        int end = from;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, from, end - from, java.nio.charset.StandardCharsets.UTF_8);
    }
}
