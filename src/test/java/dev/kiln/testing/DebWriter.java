package dev.kiln.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.ar.ArArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes small real Debian packages byte for byte the same on every machine and in every run (fixed
 * times and owners, entries in order, gzip from the JDK): what a golden digest test needs, where
 * dpkg-deb's output would follow the host's xz version and the clock.
 */
public final class DebWriter {

    private final String name;
    private final String version;
    private final long mtime;
    private final List<String[]> files = new ArrayList<>();
    private final List<String[]> links = new ArrayList<>();
    private final StringBuilder control = new StringBuilder();

    private DebWriter(String name, String version, long mtime) {
        this.name = name;
        this.version = version;
        this.mtime = mtime;
    }

    /** A package whose entries all carry {@code mtime} (seconds since the epoch). */
    public static DebWriter of(String name, String version, long mtime) {
        return new DebWriter(name, version, mtime);
    }

    /** A regular file ({@code mode} in octal, e.g. "0755"). */
    public DebWriter file(String path, String mode, String content) {
        files.add(new String[] {path, mode, content});
        return this;
    }

    public DebWriter symlink(String path, String target) {
        links.add(new String[] {path, target});
        return this;
    }

    /** An extra control line ("Depends: libc6", "Source: glibc (2.41-1)"). */
    public DebWriter control(String line) {
        control.append(line).append('\n');
        return this;
    }

    /** Writes the .deb into {@code dir} and returns it. */
    public Path write(Path dir) {
        try {
            Path deb = dir.resolve(name + "_" + version + "_amd64.deb");
            Files.createDirectories(dir);
            String controlText = "Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\n"
                    + "Maintainer: Kiln Tests <tests@kiln.test>\n" + control + "Description: test package " + name + "\n";
            byte[] controlTar = gzipTar(tar -> entry(tar, "./control", 0644, controlText.getBytes(StandardCharsets.UTF_8)));
            byte[] dataTar = gzipTar(tar -> {
                TreeSet<String> dirs = new TreeSet<>();
                for (String[] f : files) {
                    parents(f[0], dirs);
                }
                for (String[] l : links) {
                    parents(l[0], dirs);
                }
                TarArchiveEntry root = new TarArchiveEntry("./", TarArchiveEntry.LF_DIR);
                stamp(root, 040755);
                tar.putArchiveEntry(root);
                tar.closeArchiveEntry();
                for (String d : dirs) {
                    TarArchiveEntry e = new TarArchiveEntry("./" + d + "/", TarArchiveEntry.LF_DIR);
                    stamp(e, 040755);
                    tar.putArchiveEntry(e);
                    tar.closeArchiveEntry();
                }
                for (String[] f : files) {
                    entry(tar, "./" + f[0], Integer.parseInt(f[1], 8), f[2].getBytes(StandardCharsets.UTF_8));
                }
                for (String[] l : links) {
                    TarArchiveEntry e = new TarArchiveEntry("./" + l[0], TarArchiveEntry.LF_SYMLINK);
                    e.setLinkName(l[1]);
                    stamp(e, 0120777);
                    tar.putArchiveEntry(e);
                    tar.closeArchiveEntry();
                }
            });
            try (ArArchiveOutputStream ar = new ArArchiveOutputStream(Files.newOutputStream(deb))) {
                member(ar, "debian-binary", "2.0\n".getBytes(StandardCharsets.UTF_8));
                member(ar, "control.tar.gz", controlTar);
                member(ar, "data.tar.gz", dataTar);
            }
            return deb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private interface TarBody {
        void write(TarArchiveOutputStream tar) throws IOException;
    }

    private byte[] gzipTar(TarBody body) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream gzip = new GZIPOutputStream(bytes); TarArchiveOutputStream tar = new TarArchiveOutputStream(gzip)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            body.write(tar);
        }
        return bytes.toByteArray();
    }

    private void entry(TarArchiveOutputStream tar, String path, int mode, byte[] content) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(path);
        stamp(e, 0100000 | mode);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
    }

    private void stamp(TarArchiveEntry e, int mode) {
        e.setMode(mode);
        e.setModTime(mtime * 1000);
        e.setUserId(0);
        e.setGroupId(0);
        e.setUserName("root");
        e.setGroupName("root");
    }

    private void member(ArArchiveOutputStream ar, String member, byte[] content) throws IOException {
        ar.putArchiveEntry(new ArArchiveEntry(member, content.length, 0, 0, 0100644, mtime));
        ar.write(content);
        ar.closeArchiveEntry();
    }

    private static void parents(String path, TreeSet<String> dirs) {
        for (int i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
            dirs.add(path.substring(0, i));
        }
    }
}
