package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

class TarWriterTest {

    private static final String LONG = "usr/lib/jvm/java-21-openjdk-amd64/legal/jdk.internal.vm.compiler.management/"
            + "a-very-long-file-name-that-does-not-fit-into-one-hundred-bytes-of-ustar-name.txt";

    @Test
    void entriesReadBackWithTypesModesOwnersAndLongNames() throws Exception {
        byte[] tar = write(List.of(
                Item.directory("tmp", 01777, 100),
                Item.file("usr/bin/tool", 0755, 200, "#!tool\n".getBytes(StandardCharsets.UTF_8)),
                Item.symlink("usr/bin/alias", "tool", 200),
                new Item("home/nonroot", Item.Type.DIRECTORY, 0700, 65532, 65532, 100, null, null),
                Item.file(LONG, 0644, 300, "x".getBytes(StandardCharsets.UTF_8)),
                Item.symlink("usr/share/x", "/" + LONG + "/" + "y".repeat(200), 300),
                new Item("usr/bin/tool2", Item.Type.HARDLINK, 0755, 0, 0, 200, "usr/bin/tool", null)));
        List<TarArchiveEntry> entries = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                entries.add(e);
            }
        }
        assertThat(entries).extracting(TarArchiveEntry::getName)
                .containsExactly("tmp/", "usr/bin/tool", "usr/bin/alias", "home/nonroot/", LONG, "usr/share/x", "usr/bin/tool2");
        assertThat(entries.get(0).getMode() & 07777).isEqualTo(01777);
        assertThat(entries.get(1).getSize()).isEqualTo(7);
        assertThat(entries.get(1).getModTime().getTime()).isEqualTo(200_000);
        assertThat(entries.get(2).isSymbolicLink()).isTrue();
        assertThat(entries.get(3).getLongUserId()).isEqualTo(65532);
        assertThat(entries.get(5).getLinkName()).endsWith("y".repeat(200));
        assertThat(entries.get(6).isLink()).isTrue();
        assertThat(entries).allSatisfy(e -> assertThat(e.getUserName()).isEmpty());
    }

    @Test
    void theSameEntriesGiveTheSameBytes() throws Exception {
        List<Item> items = List.of(Item.file(LONG, 0644, 1, new byte[] {1, 2, 3}), Item.directory("etc", 0755, 1));
        assertThat(write(items)).isEqualTo(write(items));
    }

    private static byte[] write(List<Item> items) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarWriter tar = new TarWriter(bytes)) {
            for (Item item : items) {
                tar.write(item);
            }
        }
        return bytes.toByteArray();
    }
}
