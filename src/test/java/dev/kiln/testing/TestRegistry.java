package dev.kiln.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A real OCI registry for tests: Debian's docker-registry (CNCF distribution) on loopback, storage in a directory. */
public final class TestRegistry implements AutoCloseable {

    private Process process;
    private final String address;
    private final Path storage;
    private final Path log;
    private final Path dir;

    public TestRegistry(Path dir) {
        try {
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            address = "localhost:" + port;
            this.dir = dir;
            storage = dir.resolve("registry-data");
            log = dir.resolve("registry.log");
            Path config = dir.resolve("registry.yml");
            Files.writeString(config, """
                    version: 0.1
                    log:
                      level: warn
                      accesslog:
                        disabled: false
                    storage:
                      filesystem:
                        rootdirectory: %s
                      delete:
                        enabled: true
                    http:
                      addr: 127.0.0.1:%d
                    """.formatted(storage, port));
            start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts the registry (again, after {@link #stop}: the same port and storage) and waits until it answers. */
    public void start() {
        try {
            process = new ProcessBuilder("docker-registry", "serve", dir.resolve("registry.yml").toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("registry.log").toFile())).start();
            HttpClient http = HttpClient.newHttpClient();
            for (int i = 0; i < 100; i++) {
                try {
                    if (http.send(HttpRequest.newBuilder(URI.create("http://" + address + "/v2/")).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        return;
                    }
                } catch (IOException e) {
                    Thread.sleep(100);
                }
            }
            throw new IllegalStateException("docker-registry did not start: " + Files.readString(dir.resolve("registry.log")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Kills the registry (SIGKILL), as a crash would: what it was receiving stays half-written in its storage. */
    public void stop() {
        try {
            process.destroyForcibly().waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The registry's storage directory (docker/registry/v2/...). */
    public Path storage() {
        return storage;
    }

    /** HOST:PORT */
    public String address() {
        return address;
    }

    public List<String> tags(String repository) {
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://" + address + "/v2/" + repository + "/tags/list")).build(),
                    HttpResponse.BodyHandlers.ofString());
            List<String> names = new ArrayList<>();
            if (response.statusCode() != 404) {
                JsonNode tags = JsonMapper.builder().build().readTree(response.body()).path("tags");
                tags.forEach(t -> names.add(t.asString()));
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The requests the registry served so far, from its access log, as {@code METHOD PATH STATUS}
     * ({@code PATCH /v2/a/blobs/uploads/UUID 202}): what a test counts uploads and mounts with.
     */
    public List<String> requests() {
        java.util.regex.Pattern line = java.util.regex.Pattern.compile("\"([A-Z]+) (\\S+) HTTP/[0-9.]+\" ([0-9]{3}) ");
        List<String> out = new ArrayList<>();
        try {
            for (String l : Files.readAllLines(log)) {
                java.util.regex.Matcher m = line.matcher(l);
                if (m.find()) {
                    out.add(m.group(1) + " " + m.group(2).replaceFirst("\\?.*", "") + (m.group(2).contains("?mount=") ? "?mount" : "")
                            + " " + m.group(3));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Blobs the registry stores (layers, configs and manifests), counted on its disk. */
    public long blobs() {
        Path blobs = storage.resolve("docker/registry/v2/blobs");
        if (!Files.exists(blobs)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(blobs)) {
            return files.filter(p -> p.getFileName().toString().equals("data")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        process.destroy();
    }
}
