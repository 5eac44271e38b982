package dev.kiln.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP relay on loopback in front of a real server, whose upload direction can be slowed to a rate:
 * a push through it takes long enough for a test to stop the server in the middle of it. Not a stand-in
 * for the server: every byte goes to it and every answer comes from it.
 */
public final class SlowProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    /** Client-to-server bytes per second; 0 relays at full speed. */
    public volatile long bytesPerSecond;
    /** Client-to-server bytes relayed so far. */
    public final AtomicLong upstream = new AtomicLong();

    public SlowProxy(int target) {
        this.target = target;
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread accept = new Thread(this::accept, "slow-proxy-" + target);
        accept.setDaemon(true);
        accept.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstreamSocket;
                try {
                    upstreamSocket = new Socket(InetAddress.getLoopbackAddress(), target);
                } catch (IOException refused) {
                    client.close(); // the server is down: so is the relay
                    continue;
                }
                pump(client, upstreamSocket, true);
                pump(upstreamSocket, client, false);
            } catch (IOException e) {
                // closed
            }
        }
    }

    private void pump(Socket from, Socket to, boolean up) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    out.write(buffer, 0, n);
                    out.flush();
                    if (up) {
                        upstream.addAndGet(n);
                        long rate = bytesPerSecond;
                        if (rate > 0) {
                            Thread.sleep(n * 1000L / rate);
                        }
                    }
                }
            } catch (IOException | InterruptedException e) {
                // either side went away
            } finally {
                close(from);
                close(to);
            }
        }, "slow-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // already closed
        }
    }
}
