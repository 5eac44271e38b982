package dev.kiln.launch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jar unpacked once into the cache and run from there; another jar gets its own directory; one unused for a day goes. */
class LauncherTest {

    @Test
    void aJarIsUnpackedOnceAndItsClassesAndLibrariesAreLoadedFromTheCache(@TempDir Path dir) throws Exception {
        Path jar = fatJar(dir.resolve("kiln.jar"), "one");
        Path cache = dir.resolve("cache");

        ClassLoader loader = Launcher.unpacked(jar, cache);
        assertThat(read(loader, "app.txt")).isEqualTo("classes one");
        assertThat(read(loader, "lib.txt")).as("from the library the index names first").isEqualTo("a");
        Path unpacked;
        try (var dirs = Files.list(cache)) {
            unpacked = dirs.collect(java.util.stream.Collectors.collectingAndThen(java.util.stream.Collectors.toList(), l -> {
                assertThat(l).hasSize(1);
                return l.get(0);
            }));
        }
        URL resource = loader.getResource("app.txt");
        assertThat(resource.toString()).as("a plain jar file of the cache, not a nested jar")
                .isEqualTo("jar:file:" + unpacked.resolve("classes.jar") + "!/app.txt");
        // a directory is answered as in the fat jar (Spring and Flyway scan through directory entries); the
        // class path's root is not (Spring would bind the relative path "." to it)
        assertThat(loader.getResource("dir/")).isNotNull();
        assertThat(loader.getResource("dir/inner.txt")).isNotNull();
        assertThat(loader.getResource(".")).isNull();
        assertThat(loader.getResource("")).isNull();
        Object unpackedFile = Files.readAttributes(unpacked.resolve("classes.jar"), java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        long used = Files.getLastModifiedTime(unpacked.resolve("complete")).toMillis();

        Thread.sleep(20);
        Launcher.unpacked(jar, cache);
        assertThat(Files.readAttributes(unpacked.resolve("classes.jar"), java.nio.file.attribute.BasicFileAttributes.class).fileKey())
                .as("not unpacked again").isEqualTo(unpackedFile);
        assertThat(Files.getLastModifiedTime(unpacked.resolve("complete")).toMillis()).as("marked as used").isGreaterThan(used);
    }

    @Test
    void aJarWithOtherContentsGetsItsOwnDirectoryAndAnEntryOutsideIsRefused(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        ClassLoader one = Launcher.unpacked(fatJar(dir.resolve("one.jar"), "one"), cache);
        ClassLoader two = Launcher.unpacked(fatJar(dir.resolve("two.jar"), "two"), cache);
        assertThat(read(one, "app.txt")).isEqualTo("classes one");
        assertThat(read(two, "app.txt")).isEqualTo("classes two");
        try (var dirs = Files.list(cache)) {
            assertThat(dirs.filter(Files::isDirectory).toList()).as("one directory per content").hasSize(2);
        }

        // another version unused for two days goes; one used an hour ago stays (two versions run in turn)
        Path stale = Files.createDirectories(cache.resolve("0123456789abcdef01234567"));
        Files.writeString(stale.resolve("complete"), "");
        Files.setLastModifiedTime(stale.resolve("complete"), java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofDays(2))));
        Path recent = Files.createDirectories(cache.resolve("fedcba9876543210fedcba98"));
        Files.writeString(recent.resolve("complete"), "");
        Files.setLastModifiedTime(recent.resolve("complete"), java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofHours(1))));
        Launcher.unpacked(dir.resolve("one.jar"), cache);
        assertThat(stale).doesNotExist();
        assertThat(recent).exists();

        Path hostile = dir.resolve("hostile.jar");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(hostile))) {
            put(zip, "BOOT-INF/classes/../../../escaped.txt", "x".getBytes(StandardCharsets.UTF_8));
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Launcher.unpacked(hostile, cache))
                .hasMessageContaining("the jar holds an entry outside its directories: BOOT-INF/classes/../../../escaped.txt");
        assertThat(dir.resolve("escaped.txt")).doesNotExist();
        assertThat(cache.getParent().resolve("escaped.txt")).doesNotExist();
    }

    @Test
    void anExtractedJarRunsAsItIsAndNothingIsUnpacked(@TempDir Path dir) throws Exception {
        // what java -Djarmode=tools -jar kiln.jar extract writes: the classes at the root, the libraries beside it
        Path jar = dir.resolve("kiln.jar");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(jar))) {
            put(zip, "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nClass-Path: lib/a.jar\n".getBytes(StandardCharsets.UTF_8));
            put(zip, "dev/kiln/launch/Launcher.class", new byte[] {1});
        }
        Path cache = dir.resolve("cache");
        assertThat(Launcher.unpacked(jar, cache)).isNull();
        assertThat(cache).doesNotExist();
    }

    private static Path fatJar(Path file, String version) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
            put(zip, "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n".getBytes(StandardCharsets.UTF_8));
            put(zip, "BOOT-INF/classes/", new byte[0]);
            put(zip, "BOOT-INF/classes/app.txt", ("classes " + version).getBytes(StandardCharsets.UTF_8));
            put(zip, "BOOT-INF/classes/dir/", new byte[0]);
            put(zip, "BOOT-INF/classes/dir/inner.txt", "inner".getBytes(StandardCharsets.UTF_8));
            put(zip, "BOOT-INF/lib/b.jar", library(Map.of("lib.txt", "b")));
            put(zip, "BOOT-INF/lib/a.jar", library(Map.of("lib.txt", "a")));
            put(zip, "BOOT-INF/classpath.idx", "- \"BOOT-INF/lib/a.jar\"\n- \"BOOT-INF/lib/b.jar\"\n".getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    private static byte[] library(Map<String, String> files) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (var e : files.entrySet()) {
                put(zip, e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8));
            }
        }
        return bytes.toByteArray();
    }

    private static void put(ZipOutputStream zip, String name, byte[] content) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(content);
        zip.closeEntry();
    }

    private static String read(ClassLoader loader, String name) throws IOException {
        try (InputStream in = loader.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
