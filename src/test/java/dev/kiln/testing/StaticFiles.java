package dev.kiln.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/** Serves a directory over HTTP on loopback, as an archive mirror would. */
public final class StaticFiles implements AutoCloseable {

    private final HttpServer server;
    /** Requests served so far, found or not. */
    public final java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
    /** The paths asked for, in order. */
    public final java.util.Queue<String> paths = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Paths containing a key are served only after its delay: a slow mirror, to catch a build mid-way. */
    public final java.util.Map<String, java.time.Duration> delays = new java.util.concurrent.ConcurrentHashMap<>();

    public StaticFiles(Path root) {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            paths.add(exchange.getRequestURI().getPath());
            Path file = root.resolve(exchange.getRequestURI().getPath().substring(1)).normalize();
            if (!file.startsWith(root) || !Files.isRegularFile(file)) {
                exchange.sendResponseHeaders(404, -1);
                exchange.close();
                return;
            }
            for (var delay : delays.entrySet()) {
                if (exchange.getRequestURI().getPath().contains(delay.getKey())) {
                    try {
                        Thread.sleep(delay.getValue().toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            exchange.sendResponseHeaders(200, Files.size(file));
            try (OutputStream out = exchange.getResponseBody()) {
                Files.copy(file, out);
            }
        });
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
