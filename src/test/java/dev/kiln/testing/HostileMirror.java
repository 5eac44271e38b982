package dev.kiln.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A malicious mirror on loopback: serves a directory like {@link StaticFiles}, except that a path
 * ending in a key of {@link #attacks} gets that attack instead (an endless body, a body that trickles,
 * other bytes). {@link #sent} counts the bytes the attacks wrote, so a test can show the client stopped.
 */
public final class HostileMirror implements AutoCloseable {

    /** What to send instead of a file. */
    public interface Attack {
        void send(OutputStream out, AtomicLong sent) throws IOException, InterruptedException;
    }

    /** Zeros without end (chunked, no length): the client must stop it. */
    public static Attack endless() {
        return (out, sent) -> {
            byte[] chunk = new byte[1 << 16];
            while (true) {
                out.write(chunk);
                sent.addAndGet(chunk.length);
            }
        };
    }

    /** {@code first} bytes of the real file are not known here: one byte, then another every {@code gap}, forever. */
    public static Attack trickle(Duration gap) {
        return (out, sent) -> {
            while (true) {
                out.write('x');
                out.flush();
                sent.incrementAndGet();
                Thread.sleep(gap.toMillis());
            }
        };
    }

    /** These bytes, with no length header. */
    public static Attack bytes(byte[] body) {
        return (out, sent) -> {
            out.write(body);
            sent.addAndGet(body.length);
        };
    }

    public final Map<String, Attack> attacks = new ConcurrentHashMap<>();
    /** A path ending in a key is answered "302 Found" with the value as its Location (relative to this mirror when it starts with '/'). */
    public final Map<String, String> redirects = new ConcurrentHashMap<>();
    public final AtomicLong sent = new AtomicLong();
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "hostile-mirror");
        t.setDaemon(true);
        return t;
    });

    public HostileMirror(Path root) {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            Attack attack = attacks.entrySet().stream().filter(a -> path.endsWith(a.getKey())).map(Map.Entry::getValue).findFirst().orElse(null);
            String redirect = redirects.entrySet().stream().filter(r -> path.endsWith(r.getKey())).map(Map.Entry::getValue).findFirst().orElse(null);
            try (exchange) {
                if (redirect != null) {
                    exchange.getResponseHeaders().add("Location", redirect.startsWith("/") ? url() + redirect : redirect);
                    exchange.sendResponseHeaders(302, -1);
                    return;
                }
                if (attack != null) {
                    exchange.sendResponseHeaders(200, 0);
                    try (OutputStream out = exchange.getResponseBody()) {
                        attack.send(out, sent);
                    } catch (IOException | InterruptedException e) {
                        // the client hung up, or the mirror closes: either ends the attack
                    }
                    return;
                }
                Path file = root.resolve(path.substring(1)).normalize();
                if (!file.startsWith(root) || !Files.isRegularFile(file)) {
                    exchange.sendResponseHeaders(404, -1);
                    return;
                }
                exchange.sendResponseHeaders(200, Files.size(file));
                try (OutputStream out = exchange.getResponseBody()) {
                    Files.copy(file, out);
                }
            }
        });
        server.setExecutor(pool);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
