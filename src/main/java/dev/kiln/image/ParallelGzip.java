package dev.kiln.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * gzip (RFC 1952) compressed on every core, the way pigz does it: the input is cut into blocks of
 * 1 MiB, each block is deflated on its own with the 32 KiB before it as its dictionary (so the ratio
 * stays that of one stream) and ends on a byte boundary (a sync flush); the last block finishes the
 * stream. The output depends only on the input, the block size and the level, so layers stay
 * reproducible. At most a few blocks are in flight, so memory stays bounded whatever the layer's size.
 * Written here because no maintained Java library does this (org.anarres.parallelgzip has had no
 * release since 2018) and a JRE layer is 200 MB of tar that one core deflates in seconds.
 */
final class ParallelGzip extends OutputStream {

    static final int BLOCK = 1 << 20;
    private static final int DICTIONARY = 32 << 10;
    private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 0};
    private static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final ExecutorService POOL = Executors.newFixedThreadPool(THREADS, r -> {
        Thread t = new Thread(r, "kiln-gzip");
        t.setDaemon(true);
        return t;
    });

    private final OutputStream out;
    private final int level;
    private final CRC32 crc = new CRC32();
    private final ArrayDeque<Future<byte[]>> pending = new ArrayDeque<>();
    private byte[] block = new byte[BLOCK];
    private int filled;
    private byte[] dictionary;
    private long total;
    private boolean closed;

    ParallelGzip(OutputStream out, int level) throws IOException {
        this.out = out;
        this.level = level;
        out.write(HEADER);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        crc.update(b, off, len);
        total += len;
        while (len > 0) {
            int n = Math.min(len, BLOCK - filled);
            System.arraycopy(b, off, block, filled, n);
            filled += n;
            off += n;
            len -= n;
            if (filled == BLOCK) {
                submit(false);
            }
        }
    }

    private void submit(boolean last) throws IOException {
        byte[] data = block;
        int length = filled;
        byte[] dict = dictionary;
        if (!last) {
            dictionary = java.util.Arrays.copyOfRange(data, length - DICTIONARY, length);
            block = new byte[BLOCK];
            filled = 0;
        }
        pending.add(POOL.submit(() -> deflate(data, length, dict, last, level)));
        while (pending.size() > 2 * THREADS) {
            drain();
        }
    }

    private void drain() throws IOException {
        try {
            out.write(pending.removeFirst().get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while compressing");
        } catch (ExecutionException e) {
            throw new IOException("compressing: " + e.getCause(), e.getCause());
        }
    }

    static byte[] deflate(byte[] data, int length, byte[] dictionary, boolean last, int level) {
        Deflater deflater = new Deflater(level, true);
        try {
            if (dictionary != null) {
                deflater.setDictionary(dictionary);
            }
            deflater.setInput(data, 0, length);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(length / 2 + 64);
            byte[] buffer = new byte[64 << 10];
            if (last) {
                deflater.finish();
                while (!deflater.finished()) {
                    bytes.write(buffer, 0, deflater.deflate(buffer));
                }
            } else {
                int n;
                do {
                    n = deflater.deflate(buffer, 0, buffer.length, Deflater.SYNC_FLUSH);
                    bytes.write(buffer, 0, n);
                } while (n == buffer.length || !deflater.needsInput());
            }
            return bytes.toByteArray();
        } finally {
            deflater.end();
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            submit(true);
            while (!pending.isEmpty()) {
                drain();
            }
            long c = crc.getValue();
            out.write(new byte[] {(byte) c, (byte) (c >> 8), (byte) (c >> 16), (byte) (c >> 24),
                    (byte) total, (byte) (total >> 8), (byte) (total >> 16), (byte) (total >> 24)});
        } finally {
            pending.forEach(f -> f.cancel(true));
            out.close();
        }
    }
}
