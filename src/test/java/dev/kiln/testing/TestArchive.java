package dev.kiln.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real, signed Debian repository made on the spot: packages built with dpkg-deb, indexed by
 * apt-ftparchive, Release written with SHA-256 sums and by-hash copies, InRelease clearsigned by a key
 * gpg generates for the test, all served over HTTP on loopback. Nothing comes from the network.
 */
public final class TestArchive implements AutoCloseable {

    public static final DateTimeFormatter RFC2822 = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'UTC'", Locale.ENGLISH).withZone(ZoneOffset.UTC);

    private final Path root;
    private final Path gnupg;
    private final StaticFiles server;
    public final AtomicInteger requests;
    public final java.util.Queue<String> paths;

    public TestArchive(Path root) {
        this.root = root;
        this.gnupg = root.resolveSibling(root.getFileName() + "-gnupg");
        try {
            Files.createDirectories(root);
            Files.createDirectories(gnupg);
            Files.setPosixFilePermissions(gnupg, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            newKey("Kiln Test Archive <archive@kiln.test>");
            server = new StaticFiles(root);
            requests = server.requests;
            paths = server.paths;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The head of a stack file that takes its packages from this archive's {@code stable} suite,
     * signed by the key in {@code keys/test.gpg}; the test appends packages and the rest.
     */
    public String stackHead(String description) {
        return """
                description: %s
                owner: team@example.com
                version: "1"
                source:
                  architecture: amd64
                  keyring: keys/test.gpg
                  archives:
                    - url: %s
                      suites: [stable]
                      components: [main]
                """.formatted(description, url());
    }

    /**
     * Writes {@code catalog/NAME.yaml}: a stack of this archive's {@code packages} (a YAML list, built on
     * {@link #helloStatic}) that runs /usr/bin/hello, on {@code cron} in UTC, into golden/NAME.
     */
    public void helloStack(Path catalog, String name, String packages, String cron) {
        try {
            Files.writeString(catalog.resolve(name + ".yaml"), stackHead("test " + name) + """
                    packages: %s
                    entrypoint: [/usr/bin/hello]
                    schedule:
                      cron: "%s"
                      timeZone: UTC
                    target:
                      repository: golden/%s
                    """.formatted(packages, cron, name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Serves paths containing {@code part} only after {@code delay}. */
    public void delay(String part, java.time.Duration delay) {
        server.delays.put(part, delay);
    }

    public String url() {
        return server.url() + "/debian";
    }

    public Path root() {
        return root.resolve("debian");
    }

    /** Generates a signing key; returns its fingerprint. The first key made signs by default. */
    public String newKey(String uid) {
        run(List.of("gpg", "--homedir", gnupg.toString(), "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"));
        String colons = run(List.of("gpg", "--homedir", gnupg.toString(), "--batch", "--with-colons", "--list-keys", uid));
        return colons.lines().filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow().split(":")[9];
    }

    /** Exports the public key(s) of these fingerprints as a binary keyring. */
    public Path keyring(Path file, String... fingerprints) {
        List<String> cmd = new ArrayList<>(List.of("gpg", "--homedir", gnupg.toString(), "--batch", "--yes", "--output", file.toString(), "--export"));
        cmd.addAll(List.of(fingerprints));
        run(cmd);
        return file;
    }

    public String defaultKey() {
        String colons = run(List.of("gpg", "--homedir", gnupg.toString(), "--batch", "--with-colons", "--list-keys", "Kiln Test Archive"));
        return colons.lines().filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow().split(":")[9];
    }

    /** Builds a real .deb into the suite's pool: one file under /usr/share/NAME plus the control fields given. */
    public Path deb(String suite, String name, String version, String... controlLines) {
        try {
            Path build = Files.createTempDirectory(root.getParent(), "deb-");
            Files.createDirectories(build.resolve("DEBIAN"));
            Files.createDirectories(build.resolve("usr/share/" + name));
            Files.writeString(build.resolve("usr/share/" + name + "/README"), name + " " + version + "\n");
            StringBuilder control = new StringBuilder("Package: " + name + "\nVersion: " + version
                    + "\nArchitecture: amd64\nMaintainer: Kiln Tests <tests@kiln.test>\nDescription: test package " + name + "\n");
            for (String line : controlLines) {
                control.append(line).append('\n');
            }
            Files.writeString(build.resolve("DEBIAN/control"), control.toString());
            Path pool = root().resolve("pool/" + suite + "/main");
            Files.createDirectories(pool);
            Path deb = pool.resolve(name + "_" + version.replace(':', '%') + "_amd64.deb");
            run(List.of("dpkg-deb", "--root-owner-group", "-Zxz", "--build", build.toString(), deb.toString()));
            return deb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Puts an existing .deb (a real Debian package, say) into the suite's pool. */
    public Path add(String suite, Path deb) {
        try {
            Path pool = Files.createDirectories(root().resolve("pool/" + suite + "/main"));
            // apt-get download names files with the epoch ('1%3a1.2.13'); the archive's pool does not
            String name = deb.getFileName().toString().replaceFirst("_[0-9]+%3a", "_");
            return Files.copy(deb, pool.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Builds a .deb of the files under {@code tree} (modes kept, owned by root) into the suite's pool. */
    public Path deb(String suite, String name, String version, Path tree, String... controlLines) {
        try {
            Files.createDirectories(tree.resolve("DEBIAN"));
            StringBuilder control = new StringBuilder("Package: " + name + "\nVersion: " + version
                    + "\nArchitecture: amd64\nMaintainer: Kiln Tests <tests@kiln.test>\nDescription: test package " + name + "\n");
            for (String line : controlLines) {
                control.append(line).append('\n');
            }
            Files.writeString(tree.resolve("DEBIAN/control"), control.toString());
            Path pool = Files.createDirectories(root().resolve("pool/" + suite + "/main"));
            Path deb = pool.resolve(name + "_" + version.replace(':', '%') + "_amd64.deb");
            run(List.of("dpkg-deb", "--root-owner-group", "-Zxz", "--build", tree.toString(), deb.toString()));
            return deb;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Adds {@code hello-static} 1.0 to the suite: {@code /usr/bin/hello}, a static C program gcc builds here that prints "hello". */
    public Path helloStatic(String suite) {
        try {
            Path work = Files.createDirectories(root.resolveSibling(root.getFileName() + "-hello"));
            Path tree = Files.createDirectories(work.resolve("tree/usr/bin"));
            Files.writeString(work.resolve("hello.c"), "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n");
            run(List.of("gcc", "-static", "-Os", "-o", tree.resolve("hello").toString(), work.resolve("hello.c").toString()));
            Files.setPosixFilePermissions(tree.resolve("hello"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            return deb(suite, "hello-static", "1.0", work.resolve("tree"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private final java.util.Set<String> gzipSuites = new java.util.HashSet<>();
    private final java.util.Map<String, String[]> origins = new java.util.HashMap<>();

    /** The suite's Release says this Origin and Version (as Debian's: "Debian", "13.2") instead of "Kiln Test" and none. */
    public void origin(String suite, String origin, String version) {
        origins.put(suite, new String[] {origin, version});
    }

    /** The suite's index is offered gzip-compressed too (as Debian does), which Kiln then prefers. */
    public void offerGzip(String suite) {
        gzipSuites.add(suite);
    }

    /** Indexes the suite's pool and writes a signed Release. */
    public void publish(String suite, Instant date, Instant validUntil) {
        publish(suite, date, validUntil, defaultKey());
    }

    /** Rewrites the next published Packages text (and so its hashes, which the Release then vouches for). */
    public java.util.function.UnaryOperator<String> packagesEdit = java.util.function.UnaryOperator.identity();

    /** Edits a suite's signed Release and signs it again: a Release the archive's own key vouches for, whatever it says. */
    public void resign(String suite, java.util.function.UnaryOperator<String> edit) {
        try {
            Path dists = root().resolve("dists/" + suite);
            Files.writeString(dists.resolve("Release"), edit.apply(Files.readString(dists.resolve("Release"))));
            run(List.of("gpg", "--homedir", gnupg.toString(), "--batch", "--yes", "--local-user", defaultKey(), "--digest-algo", "SHA512",
                    "--clearsign", "--output", dists.resolve("InRelease").toString(), dists.resolve("Release").toString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void publish(String suite, Instant date, Instant validUntil, String signingKey) {
        try {
            Path dists = root().resolve("dists/" + suite);
            Path binary = dists.resolve("main/binary-amd64");
            Files.createDirectories(binary);
            String packages = run(List.of("apt-ftparchive", "packages", "pool/" + suite), root());
            Files.writeString(binary.resolve("Packages"), packagesEdit.apply(packages));
            run(List.of("xz", "-kf", binary.resolve("Packages").toString()));
            List<String> indexes = new ArrayList<>(List.of("main/binary-amd64/Packages", "main/binary-amd64/Packages.xz"));
            if (gzipSuites.contains(suite)) {
                run(List.of("gzip", "-kfn", binary.resolve("Packages").toString()));
                indexes.add("main/binary-amd64/Packages.gz");
            }
            Path byHash = Files.createDirectories(binary.resolve("by-hash/SHA256"));
            String[] origin = origins.getOrDefault(suite, new String[] {"Kiln Test", null});
            StringBuilder release = new StringBuilder("Origin: " + origin[0] + "\nLabel: Kiln Test\nSuite: " + suite
                    + (origin[1] == null ? "" : "\nVersion: " + origin[1]) + "\nCodename: " + suite
                    + "\nDate: " + RFC2822.format(date) + "\n" + (validUntil == null ? "" : "Valid-Until: " + RFC2822.format(validUntil) + "\n")
                    + "Acquire-By-Hash: yes\nArchitectures: amd64\nComponents: main\nSHA256:\n");
            for (String f : indexes) {
                byte[] bytes = Files.readAllBytes(dists.resolve(f));
                String sha = sha256(bytes);
                Files.write(byHash.resolve(sha), bytes);
                release.append(' ').append(sha).append(' ').append(bytes.length).append(' ').append(f).append('\n');
            }
            Files.writeString(dists.resolve("Release"), release.toString());
            run(List.of("gpg", "--homedir", gnupg.toString(), "--batch", "--yes", "--local-user", signingKey, "--digest-algo", "SHA512",
                    "--clearsign", "--output", dists.resolve("InRelease").toString(), dists.resolve("Release").toString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Publishes an existing index (a real Debian {@code Packages.xz}, say) as {@code archive/dists/suite}
     * under this repository's root, with a Release signed by this archive's key: a mirror of real
     * packages whose signature chain is the test's, with dates of the test's choosing.
     */
    public void republish(String archive, String suite, Path packagesXz, Instant date, Instant validUntil) {
        try {
            Path dists = Files.createDirectories(root.resolve(archive).resolve("dists").resolve(suite));
            Path binary = Files.createDirectories(dists.resolve("main/binary-amd64"));
            byte[] bytes = Files.readAllBytes(packagesXz);
            Files.write(binary.resolve("Packages.xz"), bytes);
            String release = "Origin: Debian\nLabel: Debian\nSuite: " + suite + "\nCodename: " + suite + "\nDate: " + RFC2822.format(date)
                    + "\nValid-Until: " + RFC2822.format(validUntil) + "\nArchitectures: amd64\nComponents: main\nSHA256:\n "
                    + sha256(bytes) + " " + bytes.length + " main/binary-amd64/Packages.xz\n";
            Files.writeString(dists.resolve("Release"), release);
            run(List.of("gpg", "--homedir", gnupg.toString(), "--batch", "--yes", "--local-user", defaultKey(), "--digest-algo", "SHA512",
                    "--clearsign", "--output", dists.resolve("InRelease").toString(), dists.resolve("Release").toString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The URL this archive serves {@code root/path} at (the repository itself is {@link #url()}). */
    public String url(String path) {
        return server.url() + "/" + path;
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String run(List<String> command) {
        return run(command, null);
    }

    public static String run(List<String> command, Path dir) {
        return run(command, dir, java.util.Map.of());
    }

    /** Runs {@code command} in {@code dir} (null: here) with {@code env} added; its output, or an error with it. */
    public static String run(List<String> command, Path dir, java.util.Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().putAll(env);
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static List<Path> files(Path dir) {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
