package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackagesParserTest {

    private static final PackageRecord.Origin ORIGIN = new PackageRecord.Origin("http://archive", "trixie", "main");
    private static final String SHA = "a".repeat(64);

    private static String stanza(String name, String version, String... more) {
        StringBuilder s = new StringBuilder("Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\n");
        for (String line : more) {
            s.append(line).append('\n');
        }
        return s.append("Filename: pool/").append(name).append(".deb\nSize: 1234\nSHA256: ").append(SHA).append("\n\n").toString();
    }

    private static PackageIndex parse(InputStream in) throws IOException {
        PackageIndex.Builder builder = PackageIndex.builder("amd64");
        new PackagesParser(ORIGIN).parse(in, builder);
        return builder.build();
    }

    private static PackageIndex parse(String text) throws IOException {
        return parse(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Hands out at most a few bytes per read, so every line and stanza straddles a buffer refill somewhere. */
    private static InputStream trickle(byte[] bytes) {
        return new ByteArrayInputStream(bytes) {
            private int call;

            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1 + (call++ % 7)));
            }
        };
    }

    @Test
    void keepsTheFieldsResolutionAndDownloadNeed() throws IOException {
        PackageIndex index = parse(stanza("libc6", "2.41-12", "Priority: optional", "Essential: yes", "Multi-Arch: same",
                "Pre-Depends: libgcc-s1", "Depends: libidn2-0 (>= 2.0)", "Provides: libc6-x, libc-dev (= 1)", "Conflicts: old",
                "Breaks: older (<< 2)", "Section: libs", "Description: the C library", " long text, skipped", " .", " more"));
        PackageRecord p = index.versions("libc6").get(0);
        assertThat(p).isEqualTo(new PackageRecord("libc6", DebianVersion.parse("2.41-12"), "amd64", ORIGIN, "pool/libc6.deb", 1234, SHA,
                "optional", true, "same", "libgcc-s1", "libidn2-0 (>= 2.0)", "libc6-x, libc-dev (= 1)", "old", "older (<< 2)", "libs"));
        assertThat(index.providers("libc-dev")).extracting(PackageIndex.Provider::term).containsExactly(" libc-dev (= 1)");
        assertThat(index.providers("libc-dev").get(0).providedVersion()).isEqualTo(DebianVersion.parse("1"));
    }

    @Test
    void readsTheSameIndexWhateverTheReadSizesLineEndingsAndFieldCase() throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            text.append(stanza("pkg" + i, "1." + i, "Depends: pkg" + (i + 1), "Description: x", " " + "y".repeat(i * 13)));
        }
        PackageIndex whole = parse(text.toString());
        PackageIndex trickled = parse(trickle(text.toString().getBytes(StandardCharsets.UTF_8)));
        String crlf = text.toString().replace("\n", "\r\n").replace("Package:", "package:").replace("Version: ", "VERSION:\t");
        PackageIndex windows = parse(crlf.substring(0, crlf.length() - 4)); // and no final line break
        assertThat(whole.size()).isEqualTo(300);
        for (int i = 0; i < 300; i++) {
            assertThat(trickled.versions("pkg" + i)).isEqualTo(whole.versions("pkg" + i));
            assertThat(windows.versions("pkg" + i)).isEqualTo(whole.versions("pkg" + i));
        }
    }

    @Test
    void aStanzaLargerThanTheReadBufferIsReadWhole() throws IOException {
        String depends = "Depends: " + String.join(", ", java.util.Collections.nCopies(60_000, "libfoo"));
        String description = "Description: big\n" + (" " + "z".repeat(100) + "\n").repeat(5_000);
        PackageIndex index = parse(stanza("small", "1") + stanza("big", "2", depends, description.strip()) + stanza("after", "3"));
        assertThat(index.versions("big").get(0).depends()).hasSize(depends.length() - "Depends: ".length());
        assertThat(index.versions("after")).hasSize(1);
        assertThat(index.versions("small")).hasSize(1);
    }

    @Test
    void versionsComeNewestFirstAndOnlyTheNewestProvides() throws IOException {
        PackageIndex index = parse(stanza("mawk", "1.3.4-1", "Provides: awk") + stanza("mawk", "1.3.4-2")
                + stanza("gawk", "1:5.2-1", "Provides: awk") + stanza("gawk", "1:5.2-1~bpo", "Provides: awk"));
        assertThat(index.versions("mawk")).extracting(p -> p.version().toString()).containsExactly("1.3.4-2", "1.3.4-1");
        assertThat(index.providers("awk")).extracting(p -> p.pkg().name() + " " + p.pkg().version()).containsExactly("gawk 1:5.2-1");
    }

    @Test
    void otherArchitecturesAreLeftOutAndAllIsKept() throws IOException {
        String text = stanza("native", "1") + stanza("foreign", "1").replace("amd64", "arm64") + stanza("data", "1").replace("amd64", "all");
        PackageIndex index = parse(text);
        assertThat(index.versions("native")).hasSize(1);
        assertThat(index.versions("foreign")).isEmpty();
        assertThat(index.versions("data").get(0).architecture()).isEqualTo("all");
    }

    @Test
    void aBrokenStanzaIsRefusedNamingItsLineAndPackage() {
        assertThatThrownBy(() -> parse(stanza("ok", "1") + stanza("nosha", "1").replace("SHA256: " + SHA + "\n", "")))
                .hasMessage("stanza at line 8 of the Packages index: missing field SHA256 for package nosha");
        assertThatThrownBy(() -> parse(stanza("badversion", "1.0 beta")))
                .hasMessage("stanza at line 1 of the Packages index: invalid character ' ' in version '1.0 beta'");
        assertThatThrownBy(() -> parse(stanza("badepoch", "x:1.0")))
                .hasMessage("stanza at line 1 of the Packages index: bad epoch in version 'x:1.0'");
        assertThatThrownBy(() -> parse(stanza("badsize", "1").replace("Size: 1234", "Size: 12k")))
                .hasMessage("stanza at line 1 of the Packages index: Size '12k' is not a number for package badsize");
        assertThatThrownBy(() -> parse("Package: x\nthis is no field\n"))
                .hasMessage("line 2 of the Packages index is not a 'Field: value' line");
    }

    @Test
    void aSnapshotReadsBackTheSameIndexAndADamagedOneIsRemoved(@TempDir Path tmp) throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            text.append(stanza("p" + (i % 300), "1." + i, "Depends: p" + (i + 1) + " | q", "Provides: v" + (i % 7)));
        }
        PackageIndex index = parse(text.toString());
        Path file = tmp.resolve("snapshot.bin");
        IndexSnapshot.write(file, index);
        PackageIndex back = IndexSnapshot.read(file).orElseThrow();
        assertThat(back.architecture()).isEqualTo("amd64");
        assertThat(back.suites()).containsExactly("trixie");
        assertThat(back.size()).isEqualTo(500);
        for (int i = 0; i < 300; i++) {
            assertThat(back.versions("p" + i)).isEqualTo(index.versions("p" + i));
        }
        for (int i = 0; i < 7; i++) {
            assertThat(back.providers("v" + i)).isEqualTo(index.providers("v" + i)).isNotEmpty();
        }
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 3] ^= 0x10;
        Files.write(file, bytes);
        assertThat(IndexSnapshot.read(file)).isEmpty();
        assertThat(file).doesNotExist();
    }

    @Test
    void recordsCopiedFromAnEarlierIndexEqualTheParsedOnes(@TempDir Path tmp) throws IOException {
        PackageRecord.Origin updates = new PackageRecord.Origin("http://archive", "trixie-updates", "main");
        StringBuilder main = new StringBuilder();
        StringBuilder newer = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            main.append(stanza("p" + (i % 250), "1." + i, "Depends: p" + (i + 1), "Provides: v" + (i % 9) + " (= 1." + i + ")",
                    i % 50 == 0 ? "Essential: yes" : "Priority: optional"));
        }
        for (int i = 0; i < 40; i++) {
            newer.append(stanza("p" + (i * 3), "2." + i, "Provides: v" + (i % 4)));
        }
        // what was built and snapshotted before: main and an older updates index
        PackageIndex.Builder before = PackageIndex.builder("amd64").suite("trixie").suite("trixie-updates");
        before.source(ORIGIN, "main-hash");
        new PackagesParser(ORIGIN).parse(new ByteArrayInputStream(main.toString().getBytes(StandardCharsets.UTF_8)), before);
        before.source(updates, "old-updates-hash");
        new PackagesParser(updates).parse(new ByteArrayInputStream(stanza("p1", "0.1").getBytes(StandardCharsets.UTF_8)), before);
        IndexSnapshot.write(tmp.resolve("s.bin"), before.build());
        PackageIndex previous = IndexSnapshot.read(tmp.resolve("s.bin")).orElseThrow();
        assertThat(previous.source(ORIGIN)).isEqualTo("main-hash");

        PackageIndex.Builder reused = PackageIndex.builder("amd64").suite("trixie").suite("trixie-updates");
        reused.source(ORIGIN, "main-hash");
        assertThat(reused.copy(previous, ORIGIN)).isEqualTo(400);
        reused.source(updates, "new-updates-hash");
        new PackagesParser(updates).parse(new ByteArrayInputStream(newer.toString().getBytes(StandardCharsets.UTF_8)), reused);
        PackageIndex.Builder parsed = PackageIndex.builder("amd64").suite("trixie").suite("trixie-updates");
        new PackagesParser(ORIGIN).parse(new ByteArrayInputStream(main.toString().getBytes(StandardCharsets.UTF_8)), parsed);
        new PackagesParser(updates).parse(new ByteArrayInputStream(newer.toString().getBytes(StandardCharsets.UTF_8)), parsed);

        PackageIndex copied = reused.build();
        PackageIndex expected = parsed.build();
        assertThat(copied.size()).isEqualTo(expected.size()).isEqualTo(440);
        for (int i = 0; i < 250; i++) {
            assertThat(copied.versions("p" + i)).isEqualTo(expected.versions("p" + i)).isNotEmpty();
        }
        for (int i = 0; i < 9; i++) {
            assertThat(copied.providers("v" + i)).isEqualTo(expected.providers("v" + i));
        }
        assertThat(copied.source(updates)).isEqualTo("new-updates-hash");
    }

    @Test
    void versionsAreCheckedOnTheirBytesWithTheMessagesOfTheTextParser() {
        for (String v : List.of("1.0", "1:2.3-4", "2.41-12~deb13u1", "0~", "1.0+dfsg-1", "a", "1-")) {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            assertThat(DebianVersion.problem(b, 0, b.length)).as(v).isNull();
        }
        java.util.Map<String, String> bad = java.util.Map.of(
                "", "empty version",
                ":1", "bad epoch in version ':1'",
                "1:", "empty upstream version in '1:'",
                "1:-1", "empty upstream version in '1:-1'",
                "1.0_1", "invalid character '_' in version '1.0_1'",
                "1é", "invalid character 'é' in version '1é'");
        bad.forEach((v, message) -> {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            assertThat(DebianVersion.problem(b, 0, b.length)).as(v).isEqualTo(message);
            assertThatThrownBy(() -> DebianVersion.parse(v)).as(v).hasMessage(message);
        });
    }

    @Test
    void manyStanzasOfOneNameCostWhatTheirSizeCosts() throws IOException {
        // 200,000 versions of one name: growing its offsets one by one copied 2e10 ints; sorting on every ask did the rest
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 200_000; i++) {
            text.append("Package: same\nVersion: 1.").append(i).append("\nArchitecture: amd64\nFilename: pool/s.deb\nSize: 1\nSHA256: ")
                    .append("0".repeat(64)).append("\nProvides: virtual\n\n");
        }
        long start = System.nanoTime();
        PackageIndex.Builder builder = PackageIndex.builder("amd64");
        new PackagesParser(ORIGIN).parse(new java.io.ByteArrayInputStream(text.toString().getBytes(StandardCharsets.UTF_8)), builder);
        PackageIndex index = builder.build();
        for (int i = 0; i < 50; i++) {
            assertThat(index.versions("same").get(0).version()).isEqualTo(DebianVersion.parse("1.199999"));
        }
        assertThat(index.providers("virtual")).hasSize(1);
        assertThat((System.nanoTime() - start) / 1_000_000).as("milliseconds (quadratic: over a minute)").isLessThan(20_000);
    }
}
