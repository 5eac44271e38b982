package dev.kiln.debian;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A response body read under two clocks: no byte for {@code readTimeout} (a stalled mirror) or the
 * whole body not in by {@code transferTimeout} (a trickling one) fails the read and cancels the
 * exchange. Its own subscriber rather than the JDK's {@code ofInputStream()}: that stream's blocking
 * read ignores interrupts and has no timeout, and the request timeout stops at the headers.
 * It asks for one chunk at a time, so at most two chunks are held.
 */
final class TimedBody extends InputStream implements Flow.Subscriber<List<ByteBuffer>> {

    private static final Object END = new Object();

    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final String url;
    private final Duration readTimeout;
    private final Duration transferTimeout;
    private final long deadline;
    private volatile Flow.Subscription subscription;
    private Iterator<ByteBuffer> chunks;
    private ByteBuffer current;
    private boolean done;
    private boolean closed;

    TimedBody(String url, Duration readTimeout, Duration transferTimeout) {
        this.url = url;
        this.readTimeout = readTimeout;
        this.transferTimeout = transferTimeout;
        this.deadline = System.nanoTime() + transferTimeout.toNanos();
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        queue.add(item);
    }

    @Override
    public void onError(Throwable throwable) {
        queue.add(throwable);
    }

    @Override
    public void onComplete() {
        queue.add(END);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    @SuppressWarnings("unchecked")
    public int read(byte[] buf, int off, int len) throws IOException {
        if (closed) {
            throw new IOException(url + ": read after close");
        }
        if (len == 0) {
            return 0;
        }
        while (current == null || !current.hasRemaining()) {
            if (chunks != null && chunks.hasNext()) {
                current = chunks.next();
                continue;
            }
            if (done) {
                return -1;
            }
            long left = deadline - System.nanoTime();
            long wait = Math.min(readTimeout.toNanos(), left);
            Object item;
            try {
                item = wait <= 0 ? null : queue.poll(wait, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cancel();
                throw new java.io.InterruptedIOException("interrupted while reading " + url);
            }
            if (item == null) {
                cancel();
                throw new SocketTimeoutException(deadline - System.nanoTime() <= 0
                        ? "timed out: not complete after " + human(transferTimeout) + " (kiln.archive.transfer-timeout)"
                        : "timed out: no data for " + human(readTimeout) + " (kiln.archive.read-timeout)");
            }
            if (item == END) {
                done = true;
                return -1;
            }
            if (item instanceof Throwable t) {
                done = true;
                throw t instanceof IOException io ? io : new IOException(DebianArchive.describe(t), t);
            }
            chunks = ((List<ByteBuffer>) item).iterator();
            subscription.request(1);
        }
        int n = Math.min(len, current.remaining());
        current.get(buf, off, n);
        return n;
    }

    @Override
    public void close() {
        closed = true;
        cancel();
        queue.clear();
    }

    private void cancel() {
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }

    static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
