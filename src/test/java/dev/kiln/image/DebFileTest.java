package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.ar.ArArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hostile packages against the .deb reader: crafted byte by byte (dpkg-deb refuses to build most of
 * them), each refused with its message and with nothing kept in the unpack cache.
 */
class DebFileTest {

    private static final String CONTROL = "Package: evil\nVersion: 1.0\nArchitecture: amd64\nMaintainer: x <x@x>\nDescription: x\n";

    @TempDir
    Path tmp;

    /** One data.tar entry: name, tar type, content. */
    record Entry(String name, byte type, byte[] content, Long mtime) {
        Entry(String name, byte type, byte[] content) {
            this(name, type, content, null);
        }

        static Entry file(String name, String text) {
            return new Entry(name, TarConstants.LF_NORMAL, text.getBytes(StandardCharsets.UTF_8));
        }

        static Entry dir(String name) {
            return new Entry(name, TarConstants.LF_DIR, new byte[0]);
        }

        /** A symlink or hard link ({@code type}) to {@code target}. */
        static Entry link(String name, byte type, String target) {
            return new Entry(name, type, target.getBytes(StandardCharsets.UTF_8));
        }

        boolean isLink() {
            return type == TarConstants.LF_SYMLINK || type == TarConstants.LF_LINK;
        }
    }

    private Path deb(String control, List<Entry> entries, String... extraMembers) throws IOException {
        return deb(List.of(Entry.file("./control", control)), entries, extraMembers);
    }

    private Path deb(List<Entry> controlTar, List<Entry> entries, String... extraMembers) throws IOException {
        Path file = tmp.resolve("p-" + System.nanoTime() + ".deb");
        try (OutputStream out = Files.newOutputStream(file); ArArchiveOutputStream ar = new ArArchiveOutputStream(out)) {
            member(ar, "debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII));
            member(ar, "control.tar.gz", gzip(tar(controlTar)));
            member(ar, "data.tar.gz", gzip(tar(entries)));
            for (String extra : extraMembers) {
                member(ar, extra, gzip(tar(entries)));
            }
        }
        return file;
    }

    private static void member(ArArchiveOutputStream ar, String name, byte[] bytes) throws IOException {
        ar.putArchiveEntry(new ArArchiveEntry(name, bytes.length));
        ar.write(bytes);
        ar.closeArchiveEntry();
    }

    static byte[] tar(List<Entry> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (Entry e : entries) {
                TarArchiveEntry t = new TarArchiveEntry(e.name(), e.type(), true);
                t.setSize(e.type() == TarConstants.LF_NORMAL ? e.content().length : 0);
                t.setMode(0644);
                if (e.mtime() != null) {
                    t.setModTime(java.nio.file.attribute.FileTime.from(e.mtime(), java.util.concurrent.TimeUnit.SECONDS));
                }
                if (e.isLink()) {
                    t.setLinkName(new String(e.content(), StandardCharsets.UTF_8));
                }
                tar.putArchiveEntry(t);
                if (e.type() == TarConstants.LF_NORMAL) {
                    tar.write(e.content());
                }
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(data);
        }
        return bytes.toByteArray();
    }

    /** The two decoders of an xz data member: each must give the same bytes and the same refusals. */
    enum Xz {
        PROGRAM, JAVA;

        NativeXz decoder() {
            return this == PROGRAM ? NativeXz.ON_PATH : null;
        }
    }

    private StagedPackage stage(Path deb) {
        return stage(deb, Xz.PROGRAM);
    }

    private StagedPackage stage(Path deb, Xz xz) {
        return stage(deb, xz.decoder());
    }

    private StagedPackage stage(Path deb, NativeXz decoder) {
        // the unpack cache is keyed by the .deb's SHA-256, verified before staging in a build; a cache of its own per
        // staging, so that each decoder really unpacks
        return StagedPackage.stage("evil", "1.0", dev.kiln.testing.DebWriter.sha256(deb), deb, new UnpackCache(
                tmp.resolve("unpacked").resolve("c" + System.nanoTime()), java.time.Duration.ofDays(1), java.time.Clock.systemUTC(), decoder));
    }

    /**
     * Stages a package that must be refused: the refusal to assert on, after checking that the unpack
     * caches hold exactly what they held before (nothing of it kept, no temporary file left).
     */
    private org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> refused(
            org.assertj.core.api.ThrowableAssert.ThrowingCallable staging) throws IOException {
        List<String> before = unpacked();
        Throwable refusal = org.assertj.core.api.Assertions.catchThrowable(staging);
        assertThat(unpacked()).as("the unpack caches after a refusal").isEqualTo(before);
        return assertThat(refusal).isInstanceOf(ImageException.class);
    }

    /** What the unpack caches hold: nothing may be kept of a refused package. */
    private List<String> unpacked() throws IOException {
        if (!Files.exists(tmp.resolve("unpacked"))) {
            return List.of();
        }
        try (var files = Files.walk(tmp.resolve("unpacked"))) {
            return files.filter(Files::isRegularFile).map(f -> tmp.resolve("unpacked").relativize(f).toString()).sorted().toList();
        }
    }

    @Test
    void refusesDeviceNodesAndFifosInsteadOfMakingThemEmptyFiles() throws IOException {
        Path chr = deb(CONTROL, List.of(Entry.dir("./dev/"), new Entry("./dev/sda", TarConstants.LF_BLK, new byte[0])));
        refused(() -> stage(chr)).isInstanceOf(ImageException.class)
                .hasMessage("evil 1.0: data.tar entry './dev/sda' is a block device; a package may not ship device files, FIFOs"
                        + " or sockets (Debian Policy 10.6); refusing the package");
        Path fifo = deb(CONTROL, List.of(new Entry("./run/pipe", TarConstants.LF_FIFO, new byte[0])));
        refused(() -> stage(fifo)).hasMessageContaining("data.tar entry './run/pipe' is a FIFO;");
        Path c = deb(CONTROL, List.of(new Entry("./dev/null", TarConstants.LF_CHR, new byte[0])));
        refused(() -> stage(c)).hasMessageContaining("data.tar entry './dev/null' is a character device;");
    }

    @Test
    void normalisesDotAndDotDotEverywhereAndRefusesClimbingAboveTheRoot() throws IOException {
        StagedPackage staged = stage(deb(CONTROL, List.of(Entry.dir("./"), Entry.dir("./tmp/.."), Entry.dir("./usr//bin/"),
                Entry.file("usr/bin/bash/.", "#!"), Entry.file("./usr/lib/../share/x", "x"))));
        assertThat(staged.items()).extracting(Item::path).containsExactly("usr/bin", "usr/bin/bash", "usr/share/x");
        assertThat(Hardening.isShell(staged.items().get(1).path())).as("removeShells sees it").isTrue();

        Path climbing = deb(CONTROL, List.of(Entry.file("./usr/../../etc/passwd", "root::0:0")));
        refused(() -> stage(climbing))
                .hasMessage("evil 1.0: data.tar entry './usr/../../etc/passwd' climbs above the root; refusing the package");
        Path newline = deb(CONTROL, List.of(Entry.file("./usr/bin/a\nb", "x")));
        refused(() -> stage(newline))
                .hasMessage("evil 1.0: data.tar entry './usr/bin/a\\x0ab' holds a control character; refusing the package");
    }

    @Test
    void refusesAControlFileWithTwoStanzasOrForAnotherPackage() throws IOException {
        Path two = deb(CONTROL + "\nPackage: libc6\nVersion: 9.9\n", List.of(Entry.file("./x", "x")));
        refused(() -> stage(two))
                .hasMessage("evil 1.0: the control file holds more than one stanza; a binary package's holds one");
        Path other = deb(CONTROL.replace("Package: evil", "Package: bash"), List.of(Entry.file("./x", "x")));
        refused(() -> stage(other))
                .hasMessage("evil 1.0: the package's control file says Package 'bash', Version '1.0'; refusing it");
    }

    @Test
    void refusesAHardLinkToAnythingButARegularFileEarlierInThePackage() throws IOException {
        StagedPackage ok = stage(deb(CONTROL, List.of(Entry.file("./usr/bin/a", "x"), Entry.link("./usr/bin/b", TarConstants.LF_LINK, "./usr/bin/a"))));
        assertThat(ok.items()).extracting(Item::path, Item::link).containsExactly(
                org.assertj.core.groups.Tuple.tuple("usr/bin/a", null), org.assertj.core.groups.Tuple.tuple("usr/bin/b", "usr/bin/a"));
        // another package's file: in a layer of its own, the link cannot be made when the image is pulled
        Path outside = deb(CONTROL, List.of(Entry.link("./usr/lib/pw", TarConstants.LF_LINK, "etc/passwd")));
        refused(() -> stage(outside)).hasMessage("evil 1.0: data.tar entry './usr/lib/pw' is a hard link to 'etc/passwd', which is"
                + " not a regular file earlier in the package; refusing the package");
        Path later = deb(CONTROL, List.of(Entry.link("./b", TarConstants.LF_LINK, "./a"), Entry.file("./a", "x")));
        refused(() -> stage(later)).hasMessageContaining("'./b' is a hard link to './a', which is not a regular file earlier");
        Path toDir = deb(CONTROL, List.of(Entry.dir("./usr/"), Entry.link("./d", TarConstants.LF_LINK, "./usr")));
        refused(() -> stage(toDir)).hasMessageContaining("'./d' is a hard link to './usr', which is not a regular file earlier");
    }

    @Test
    void refusesSymlinkTargetsThatAreEmptyOrHoldControlCharacters() throws IOException {
        Path newline = deb(CONTROL, List.of(Entry.link("./usr/lib/a", TarConstants.LF_SYMLINK, "x\ny")));
        refused(() -> stage(newline)).hasMessage("evil 1.0: data.tar entry './usr/lib/a' is a symlink to 'x\\x0ay', which holds"
                + " a control character; refusing the package");
        Path empty = deb(CONTROL, List.of(Entry.link("./usr/lib/a", TarConstants.LF_SYMLINK, "")));
        refused(() -> stage(empty)).hasMessage("evil 1.0: data.tar entry './usr/lib/a' is a symlink to '', an empty target;"
                + " refusing the package");
    }

    @Test
    void refusesPathsAndLinkTargetsLongerThanLinuxAllowsBeforeTheyCostAnything() throws IOException {
        // 40,000 bytes of path: staging and ordering it took 5 s (the square of its depth), and no layer could hold it
        String deep = "./" + "a/".repeat(20_000) + "f";
        Path longPath = deb(CONTROL, List.of(Entry.file(deep, "x")));
        long started = System.nanoTime();
        refused(() -> stage(longPath)).hasMessage("evil 1.0: data.tar entry " + dev.kiln.debian.Names.quote(deep)
                + " is 40001 bytes long, more than Linux's PATH_MAX (4095); refusing the package");
        assertThat(System.nanoTime() - started).isLessThan(5_000_000_000L);
        Path longName = deb(CONTROL, List.of(Entry.file("./usr/" + "n".repeat(256), "x")));
        refused(() -> stage(longName)).hasMessageEndingWith(" has a name longer than Linux's NAME_MAX (255 bytes); refusing the package");
        assertThat(stage(deb(CONTROL, List.of(Entry.file("./usr/" + "n".repeat(255), "x")))).items()).hasSize(1);
        Path longTarget = deb(CONTROL, List.of(Entry.link("./usr/lib/a", TarConstants.LF_SYMLINK, "b/".repeat(2048))));
        refused(() -> stage(longTarget)).hasMessageStartingWith("evil 1.0: data.tar entry './usr/lib/a' links to 'b/b/")
                .hasMessageEndingWith(" is 4096 bytes long, more than Linux's PATH_MAX (4095); refusing the package");
    }

    @Test
    void refusesControlFieldsThatWouldMisleadScannersReadingStatusD() throws IOException {
        List<Entry> data = List.of(Entry.file("./x", "x"));
        // Kiln checked the last Version against the lock; a scanner reads the first
        Path twice = deb(CONTROL.replace("Version: 1.0\n", "Version: 0.1\nVersion: 1.0\n"), data);
        refused(() -> stage(twice)).hasMessage("evil 1.0: the control file's line 3 gives 'Version' a second time (dpkg refuses"
                + " a duplicate field); refusing the package");
        // dpkg reads field names in any case; scanners do not, and Kiln wrote no Status line after "package:": a package hidden from them
        Path lower = deb(CONTROL.replace("Package:", "package:"), data);
        refused(() -> stage(lower)).hasMessage("evil 1.0: the control file's line 1 spells 'package', which scanners read only as"
                + " 'Package'; refusing the package");
        Path status = deb(CONTROL + "Status: deinstall ok config-files\n", data);
        refused(() -> stage(status)).hasMessage("evil 1.0: the control file's line 6 sets 'Status', which is dpkg's record of an"
                + " installation, not a package's field; refusing the package");
        Path crlf = deb(CONTROL.replace("\n", "\r\n"), data);
        refused(() -> stage(crlf)).hasMessage("evil 1.0: the control file's line 1 holds the control character \\x0d; refusing"
                + " the package");
        Path garbage = deb(CONTROL + "not a field\n", data);
        refused(() -> stage(garbage)).hasMessage("evil 1.0: the control file's line 6 'not a field' is neither a field nor a"
                + " continuation; refusing the package");
        StagedPackage fine = stage(deb(CONTROL.replace("Description: x\n", "Description: x\n more\n .\n\tindented\n")
                + "Depends: libc6 (>= 2.36)\n", data));
        assertThat(fine.control().fields()).containsEntry("Depends", "libc6 (>= 2.36)");
    }

    @Test
    void refusesMd5sumsLinesThatAreNotWhatMd5sumWrites() throws IOException {
        // copied into status.d/NAME.md5sums, which scanners read to tell whose a file is
        List<Entry> data = List.of(Entry.file("./usr/bin/x", "x"));
        Path escape = deb(List.of(Entry.file("./control", CONTROL), Entry.file("./md5sums", "\u001b[2J" + "0".repeat(28) + "  usr/bin/x\n")), data);
        refused(() -> stage(escape)).hasMessage("evil 1.0: line 1 of md5sums, '\\x1b[2J" + "0".repeat(28) + "  usr/bin/x', is not"
                + " 'MD5  PATH'; refusing the package");
        StagedPackage fine = stage(deb(List.of(Entry.file("./control", CONTROL), Entry.file("./md5sums", "9dd4e461268c8034f5c8564e155c67a6  usr/bin/x\n")),
                data));
        assertThat(fine.control().md5sums()).containsExactly(java.util.Map.entry("usr/bin/x", "9dd4e461268c8034f5c8564e155c67a6"));
        assertThat(stage(deb(List.of(Entry.file("./control", CONTROL), Entry.file("./md5sums", "")), data)).control().md5sums()).isEmpty();
    }

    @Test
    void refusesEntriesDatedOutsideWhatATarHeaderHolds() throws IOException {
        // the newest file time dates the image; 2^40 s was cut to other octal digits in the layer
        Path far = deb(CONTROL, List.of(new Entry("./usr/share/x", TarConstants.LF_NORMAL, new byte[1], 1L << 40)));
        refused(() -> stage(far)).hasMessage("evil 1.0: data.tar entry './usr/share/x' is dated 1099511627776 s from 1970, outside"
                + " what a tar header holds (0 to 8589934591); refusing the package");
        Path before = deb(CONTROL, List.of(new Entry("./usr/share/x", TarConstants.LF_NORMAL, new byte[1], -86_400L)));
        refused(() -> stage(before)).hasMessageContaining(" is dated -86400 s from 1970, outside what a tar header holds");
        assertThat(stage(deb(CONTROL, List.of(new Entry("./usr/share/x", TarConstants.LF_NORMAL, new byte[1], 8_589_934_591L)))).items())
                .extracting(Item::mtime).containsExactly(8_589_934_591L);
    }

    @Test
    void refusesASecondDataMember() throws IOException {
        Path smuggled = deb(CONTROL, List.of(Entry.file("./x", "x")), "data.tar.gz");
        refused(() -> stage(smuggled))
                .hasMessage("evil 1.0: corrupt package: a second data.tar (dpkg reads one control.tar, then one data.tar)");
    }

    @Test
    void stopsADecompressionBombAtTwiceItsInstalledSizeWithBoundedDisk() throws IOException {
        List<Entry> zeros = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            zeros.add(new Entry("./zero" + i, TarConstants.LF_NORMAL, new byte[8 << 20]));
        }
        Path bomb = deb(CONTROL + "Installed-Size: 1\n", zeros);
        assertThat(Files.size(bomb)).isLessThan(200_000);
        refused(() -> stage(bomb))
                .hasMessage("evil 1.0: corrupt package: data.tar.gz decompresses to more than 16779264 bytes, twice the Installed-Size"
                        + " it states (1 KiB) plus 16 MiB; stopped there");
        assertThat(unpacked()).as("nothing of the bomb is kept").isEmpty();
    }

    @Test
    void aControlBombAndAZstdDataBombStopAtTheirCaps() throws IOException {
        Path control = tmp.resolve("control-bomb.deb");
        try (OutputStream out = Files.newOutputStream(control); ArArchiveOutputStream ar = new ArArchiveOutputStream(out)) {
            member(ar, "debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII));
            member(ar, "control.tar.gz", gzip(tar(List.of(Entry.file("./control", CONTROL),
                    new Entry("./postinst", TarConstants.LF_NORMAL, new byte[40 << 20])))));
            member(ar, "data.tar.gz", gzip(tar(List.of(Entry.file("./x", "x")))));
        }
        assertThat(Files.size(control)).isLessThan(200_000);
        refused(() -> stage(control)).hasMessage("evil 1.0: corrupt package: control.tar.gz decompresses to more than 16777216"
                + " bytes, 16 MiB, Kiln's limit for control data; stopped there");
        assertThat(unpacked()).isEmpty();

        Path zstd = tmp.resolve("zstd-bomb.deb");
        java.io.ByteArrayOutputStream compressed = new java.io.ByteArrayOutputStream();
        try (var z = new com.github.luben.zstd.ZstdOutputStream(compressed, 19)) {
            z.write(tar(List.of(new Entry("./zero", TarConstants.LF_NORMAL, new byte[40 << 20]))));
        }
        try (OutputStream out = Files.newOutputStream(zstd); ArArchiveOutputStream ar = new ArArchiveOutputStream(out)) {
            member(ar, "debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII));
            member(ar, "control.tar.gz", gzip(tar(List.of(Entry.file("./control", CONTROL + "Installed-Size: 1\n")))));
            member(ar, "data.tar.zst", compressed.toByteArray());
        }
        assertThat(Files.size(zstd)).isLessThan(200_000);
        refused(() -> stage(zstd)).hasMessage("evil 1.0: corrupt package: data.tar.zst decompresses to more than 16779264 bytes,"
                + " twice the Installed-Size it states (1 KiB) plus 16 MiB; stopped there");
        assertThat(unpacked()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Xz.class)
    void anXzBombIsRefusedFromItsIndexBeforeAByteIsDecoded(Xz xz) throws IOException {
        List<Entry> zeros = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            zeros.add(new Entry("./zero" + i, TarConstants.LF_NORMAL, new byte[8 << 20]));
        }
        Path bomb = debXz(CONTROL + "Installed-Size: 1\n", zeros, 4 << 20);
        assertThat(Files.size(bomb)).isLessThan(200_000);
        refused(() -> stage(bomb, xz))
                .hasMessage("evil 1.0: corrupt package: data.tar.xz decompresses to more than 16779264 bytes, twice the Installed-Size"
                        + " it states (1 KiB) plus 16 MiB; stopped there");
        assertThat(unpacked()).as("nothing of the bomb is kept").isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Xz.class)
    void anXzDataMemberOfManyBlocksIsDecodedInParallelToTheSameEntries(Xz xz) throws IOException {
        List<Entry> files = new ArrayList<>();
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 12; i++) {
            byte[] content = new byte[300_000 + random.nextInt(100_000)];
            random.nextBytes(content);
            files.add(new Entry("./usr/share/f" + i, TarConstants.LF_NORMAL, content));
        }
        StagedPackage fromGzip = stage(deb(CONTROL, files));
        StagedPackage fromXz = stage(debXz(CONTROL, files, 1 << 20), xz);
        assertThat(fromXz.items()).hasSameSizeAs(fromGzip.items());
        for (int i = 0; i < fromXz.items().size(); i++) {
            Item a = fromGzip.items().get(i);
            Item b = fromXz.items().get(i);
            assertThat(b.path()).isEqualTo(a.path());
            if (a.content() != null) {
                assertThat(b.content().read(0, (int) b.size())).isEqualTo(a.content().read(0, (int) a.size()));
            }
        }
        try (var in = new org.tukaani.xz.SeekableXZInputStream(new org.tukaani.xz.SeekableFileInputStream(
                tmp.resolve("xz-member.xz").toFile()))) {
            assertThat(in.getBlockCount()).as("the member really has several blocks").isGreaterThan(3);
        }
    }

    @ParameterizedTest
    @EnumSource(Xz.class)
    void xzMembersOfThousandsOfTinyBlocksUnpackInLinearTime(Xz xz) throws IOException {
        // every block declares a 192 MiB dictionary (under the decoder limit): decoding each data block through a reader
        // of its own read the whole xz index again per block (quadratic: 8,000 blocks took four minutes), and each block
        // of either member allocated its dictionary anew
        byte[] data = tar(List.of(new Entry("./usr/share/zeros", TarConstants.LF_NORMAL, new byte[120_000])));
        byte[] control = tar(List.of(Entry.file("./control", CONTROL), new Entry("./padding", TarConstants.LF_NORMAL, new byte[60_000])));
        Path deb = tmp.resolve("blocks.deb");
        try (OutputStream out = Files.newOutputStream(deb); ArArchiveOutputStream ar = new ArArchiveOutputStream(out)) {
            member(ar, "debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII));
            member(ar, "control.tar.xz", dev.kiln.testing.XzForge.xz(control, 16, 31));
            member(ar, "data.tar.xz", dev.kiln.testing.XzForge.xz(data, 16, 31));
        }
        assertThat(Files.size(deb)).isLessThan(500_000);
        StagedPackage staged = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30), () -> stage(deb, xz));
        assertThat(staged.items()).extracting(Item::path).containsExactly("usr/share/zeros");
        assertThat(staged.items().get(0).content().read(0, 200_000)).isEqualTo(new byte[120_000]);
    }

    @Test
    void theXzProgramAndXzJavaUnpackTheSameBytes() throws IOException {
        List<Entry> files = new ArrayList<>();
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < 8; i++) {
            byte[] noise = new byte[200_000 + random.nextInt(100_000)];
            random.nextBytes(noise);
            files.add(new Entry("./usr/lib/noise" + i, TarConstants.LF_NORMAL, noise));
            files.add(Entry.file("./usr/share/doc/text" + i, ("line " + i + " of a compressible file\n").repeat(20_000)));
        }
        Path spy = spy();
        NativeXz program = new NativeXz(spy.toString(), java.time.Duration.ofMinutes(1));
        // one block (xz-java streams it) and many (xz-java decodes runs of blocks in parallel, as dpkg-deb -T0 writes them)
        for (int blockSize : new int[] {64 << 20, 1 << 20}) {
            Path deb = debXz(CONTROL, files, blockSize);
            String sha = dev.kiln.testing.DebWriter.sha256(deb);
            DebFile.Unpacked fromProgram = new UnpackCache(tmp.resolve("program-" + blockSize), java.time.Duration.ofDays(1),
                    java.time.Clock.systemUTC(), program).unpack(deb, sha, "evil 1.0");
            DebFile.Unpacked fromJava = new UnpackCache(tmp.resolve("java-" + blockSize), java.time.Duration.ofDays(1),
                    java.time.Clock.systemUTC(), false).unpack(deb, sha, "evil 1.0");
            assertThat(Files.size(fromProgram.dataTar())).isEqualTo(tar(files).length);
            assertThat(Files.mismatch(fromProgram.dataTar(), fromJava.dataTar())).as("first differing byte").isEqualTo(-1);
            assertThat(Files.mismatch(fromProgram.controlTar(), fromJava.controlTar())).isEqualTo(-1);
        }
        // the probe, then one run per package: always the same arguments, never anything from the package
        assertThat(Files.readAllLines(spy.resolveSibling("calls"))).containsExactly(
                "--decompress --stdout --format=xz --threads=0 --memlimit=262144KiB",
                "--decompress --stdout --format=xz --threads=0 --memlimit=262144KiB",
                "--decompress --stdout --format=xz --threads=0 --memlimit=262144KiB");
    }

    @ParameterizedTest
    @EnumSource(Xz.class)
    void aCorruptXzMemberIsRefusedNamingThePackage(Xz xz) throws IOException {
        byte[] member = xz(tar(List.of(Entry.file("./usr/share/doc/x", "compressible text\n".repeat(50_000)))), 64 << 20);
        member[member.length / 2] ^= 0x55;
        Path deb = debXz(CONTROL, member);
        refused(() -> stage(deb, xz)).hasMessage("evil 1.0: corrupt package " + deb.getFileName() + ": "
                + (xz == Xz.PROGRAM ? "data.tar.xz: Compressed data is corrupt (xz exited with 1)" : "Compressed data is corrupt"));
        assertThat(unpacked()).isEmpty();
        assertThat(ProcessHandle.current().children().filter(ProcessHandle::isAlive)).as("no xz left running").isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Xz.class)
    void anXzBombWhoseIndexUnderstatesItStopsAtTheCapWhileItStreams(Xz xz) throws IOException {
        byte[] bomb = dev.kiln.testing.XzForge.understated(xz(tar(List.of(new Entry("./zero", TarConstants.LF_NORMAL, new byte[40 << 20]))),
                64 << 20));
        Path deb = debXz(CONTROL + "Installed-Size: 1\n", bomb);
        assertThat(Files.size(deb)).isLessThan(200_000);
        refused(() -> stage(deb, xz))
                .hasMessage("evil 1.0: corrupt package: data.tar.xz decompresses to more than 16779264 bytes, twice the Installed-Size"
                        + " it states (1 KiB) plus 16 MiB; stopped there");
        assertThat(unpacked()).as("nothing of the bomb is kept").isEmpty();
        assertThat(ProcessHandle.current().children().filter(ProcessHandle::isAlive)).as("xz killed at the cap").isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Xz.class)
    void anXzDictionaryLargerThanTheDecoderMemoryLimitIsRefused(Xz xz) throws IOException {
        // 1.5 GiB declared in a block header: neither decoder allocates it
        Path deb = debXz(CONTROL, dev.kiln.testing.XzForge.xz(tar(List.of(Entry.file("./x", "x"))), 1 << 16, 37));
        refused(() -> stage(deb, xz)).hasMessage("evil 1.0: corrupt package " + deb.getFileName() + ": "
                + (xz == Xz.PROGRAM ? "data.tar.xz: Memory usage limit reached (xz exited with 1)"
                : "1572968 KiB of memory would be needed; limit was 262144 KiB"));
        assertThat(unpacked()).isEmpty();
    }

    @Test
    void anXzProgramThatOverrunsTheTimeBoundIsKilledAndThePackageRefused() throws IOException {
        Path spy = spy();
        NativeXz program = new NativeXz(spy.toString(), java.time.Duration.ofSeconds(1));
        assertThat(program.available()).isTrue();
        Files.createFile(spy.resolveSibling("hang"));
        Path deb = debXz(CONTROL, List.of(Entry.file("./x", "x")), 1 << 20);
        long started = System.nanoTime();
        refused(() -> stage(deb, program)).hasMessage("evil 1.0: corrupt package " + deb.getFileName()
                + ": data.tar.xz: xz took longer than 1 s, Kiln's time bound; stopped there");
        assertThat(System.nanoTime() - started).isLessThan(20_000_000_000L);
        assertThat(unpacked()).isEmpty();
        assertThat(ProcessHandle.current().children().filter(ProcessHandle::isAlive)).isEmpty();
    }

    @Test
    void xzJavaDecodesWhenTheXzProgramIsSwitchedOffOrMissing() throws IOException {
        byte[] member = xz(tar(List.of(Entry.file("./usr/share/doc/x", "compressible text\n".repeat(50_000)))), 64 << 20);
        Path good = debXz(CONTROL, member.clone());
        member[member.length / 2] ^= 0x55;
        Path corrupt = debXz(CONTROL, member);
        String javaSays = "evil 1.0: corrupt package " + corrupt.getFileName() + ": Compressed data is corrupt";
        NativeXz missing = new NativeXz(tmp.resolve("no-such-xz").toString(), java.time.Duration.ofMinutes(1));
        assertThat(missing.available()).isFalse();
        // kiln.build.native-xz: false, and an xz that does not run: xz-java decodes (its message, not the program's)
        for (java.util.function.Function<Path, UnpackCache> cache : List.<java.util.function.Function<Path, UnpackCache>>of(
                dir -> new UnpackCache(dir, java.time.Duration.ofDays(1), java.time.Clock.systemUTC(), false),
                dir -> new UnpackCache(dir, java.time.Duration.ofDays(1), java.time.Clock.systemUTC(), missing))) {
            Path dir = tmp.resolve("cache-" + System.nanoTime());
            assertThatThrownBy(() -> cache.apply(dir).unpack(corrupt, dev.kiln.testing.DebWriter.sha256(corrupt), "evil 1.0")).hasMessage(javaSays);
            DebFile.Unpacked unpacked = cache.apply(dir).unpack(good, dev.kiln.testing.DebWriter.sha256(good), "evil 1.0");
            assertThat(Files.size(unpacked.dataTar())).isEqualTo(tar(List.of(Entry.file("./usr/share/doc/x",
                    "compressible text\n".repeat(50_000)))).length);
        }
    }

    /**
     * An "xz" that logs its arguments to {@code calls} beside it and runs the real xz, or (once {@code hang}
     * exists beside it) sleeps instead.
     */
    private Path spy() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("spy"));
        Path script = dir.resolve("xz");
        Files.writeString(script, "#!/bin/sh\nhere=$(dirname \"$0\")\necho \"$*\" >> \"$here/calls\"\n"
                + "[ -e \"$here/hang\" ] && exec sleep 60\nexec xz \"$@\"\n");
        script.toFile().setExecutable(true);
        return script;
    }

    /** A package whose data.tar.xz is cut into xz blocks of {@code blockSize} uncompressed bytes, as dpkg-deb -T0 writes. */
    private Path debXz(String control, List<Entry> entries, int blockSize) throws IOException {
        byte[] xz = xz(tar(entries), blockSize);
        Files.write(tmp.resolve("xz-member.xz"), xz);
        return debXz(control, xz);
    }

    /** A package whose data.tar.xz member is {@code member}, as given. */
    private Path debXz(String control, byte[] member) throws IOException {
        Path file = tmp.resolve("x-" + System.nanoTime() + ".deb");
        try (OutputStream out = Files.newOutputStream(file); ArArchiveOutputStream ar = new ArArchiveOutputStream(out)) {
            member(ar, "debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII));
            member(ar, "control.tar.gz", gzip(tar(List.of(Entry.file("./control", control)))));
            member(ar, "data.tar.xz", member);
        }
        return file;
    }

    private static byte[] xz(byte[] data, int blockSize) throws IOException {
        java.io.ByteArrayOutputStream xz = new java.io.ByteArrayOutputStream();
        try (org.tukaani.xz.XZOutputStream out = new org.tukaani.xz.XZOutputStream(xz, new org.tukaani.xz.LZMA2Options(1))) {
            for (int off = 0; off < data.length; off += blockSize) {
                out.write(data, off, Math.min(blockSize, data.length - off));
                out.endBlock();
            }
        }
        return xz.toByteArray();
    }
}
