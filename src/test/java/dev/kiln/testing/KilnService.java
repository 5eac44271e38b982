package dev.kiln.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * One {@code java -jar target/kiln.jar serve} process for a test, on a free port, logging to a file, with
 * two API users: {@code reader} (password {@code reader-pw}) and {@code platform} ({@code platform-pw}).
 */
public final class KilnService implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final String id;
    private final Process process;
    private final int port;
    private final Path log;

    private KilnService(String id, Process process, int port, Path log) {
        this.id = id;
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts instance {@code id} (its Quartz instance id too) with {@code settings} added to the command line. */
    public static KilnService start(String id, Path dir, List<String> settings) {
        return start(id, dir, "384m", settings);
    }

    /** The same with a heap of {@code maxHeap} ({@code -Xmx}). */
    public static KilnService start(String id, Path dir, String maxHeap, List<String> settings) {
        try {
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            Path log = dir.resolve(id + ".log");
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + maxHeap,
                    "-jar", Path.of("target/kiln.jar").toAbsolutePath().toString(), "serve", "--data-dir", dir.resolve("data-" + id).toString(),
                    "--server.port=" + port, "--spring.quartz.properties.org.quartz.scheduler.instanceId=" + id,
                    "--kiln.users[0].name=reader", "--kiln.users[0].password={noop}reader-pw",
                    "--kiln.users[1].name=platform", "--kiln.users[1].password={noop}platform-pw", "--kiln.users[1].roles=platform"));
            command.addAll(settings);
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            return new KilnService(id, process, port, log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String id() {
        return id;
    }

    /** Whether its liveness answers 200; an exited process is an error naming its log. */
    public boolean up() {
        if (!process.isAlive()) {
            throw new IllegalStateException(id + " exited: " + log());
        }
        try {
            return get("/actuator/health/liveness", null).statusCode() == 200;
        } catch (RuntimeException e) {
            return false;
        }
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    public HttpResponse<String> get(String path, String user) {
        return send("GET", path, user, null);
    }

    /** {@code json} null sends no body. */
    public HttpResponse<String> send(String method, String path, String user, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).timeout(Duration.ofSeconds(30))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        if (user != null) {
            b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + user + "-pw").getBytes(StandardCharsets.UTF_8)));
        }
        try {
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
