package dev.kiln.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Real packages the image tests make on the spot: a JRE that jlink links from the JDK running the tests
 * (java.base only, 44 MB: a Java runtime without a 190 MB download), and .deb files of any tree with a
 * gzip-compressed data part (xz would spend a minute on the JRE).
 */
public final class TestPackages {

    private TestPackages() {
    }

    /** java.base linked by jlink into {@code home} (absolute, in the image), packaged as {@code name} with its licence. */
    public static Path jre(Path work, String name, String version, String home) {
        Path tree = work.resolve(name);
        Path jre = tree.resolve(home.substring(1));
        try {
            Files.createDirectories(jre.getParent());
            Path jlink = Path.of(System.getProperty("java.home"), "bin", "jlink");
            if (!Files.isExecutable(jlink)) {
                throw new IllegalStateException("a JDK with jlink must run the tests: " + jlink);
            }
            TestArchive.run(List.of(jlink.toString(), "--add-modules", "java.base", "--strip-debug", "--no-man-pages", "--no-header-files",
                    "--output", jre.toString()));
            Path doc = Files.createDirectories(tree.resolve("usr/share/doc/" + name));
            Files.writeString(doc.resolve("copyright"), copyright("OpenJDK", "GPL-2 with Classpath-exception-2.0"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return deb(work, tree, name, version, "Depends: libc6, libstdc++6, zlib1g");
    }

    /** A .deb of {@code tree} (owned by root) with a gzip-compressed data part, written into {@code work}. */
    public static Path deb(Path work, Path tree, String name, String version, String... controlLines) {
        try {
            Files.createDirectories(tree.resolve("DEBIAN"));
            Files.writeString(tree.resolve("DEBIAN/control"), "Package: " + name + "\nVersion: " + version
                    + "\nArchitecture: amd64\nMaintainer: Kiln Tests <tests@kiln.test>\nDescription: test package " + name + "\n"
                    + String.join("\n", controlLines) + "\n");
            Path deb = work.resolve(name + "_" + version + "_amd64.deb");
            TestArchive.run(List.of("dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree.toString(), deb.toString()));
            return deb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A machine-readable (DEP-5) copyright file naming one licence for every file. */
    public static String copyright(String upstream, String licence) {
        return "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: " + upstream
                + "\n\nFiles: *\nCopyright: Kiln Tests\nLicense: " + licence + "\n";
    }
}
