package dev.kiln.image;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/**
 * The xz program (xz-utils) as the decoder of {@code .deb} data members, most of a cold build's compose
 * time: liblzma decodes the JRE's 194 MiB data.tar with 2.2 s of CPU where xz-java takes 4 s (1.6 s
 * against 2.3 s wall on two cores, both decoding its blocks in parallel). It decodes exactly what
 * xz-java would: the .xz format only ({@code --format=xz}, not legacy .lzma), under the same memory
 * limit ({@code --memlimit}), with the environment's {@code XZ_OPT}/{@code XZ_DEFAULTS} removed. The
 * compressed member reaches it as stdin from a file Kiln wrote, never as an argument; its output is a
 * stream the caller caps. A run longer than the time bound, an early close or any failure kills it.
 */
final class NativeXz {

    /** The xz on PATH; the time bound is far above any real package's (8 GiB, DebFile's cap, takes xz a few minutes). */
    static final NativeXz ON_PATH = new NativeXz("xz", Duration.ofMinutes(10));

    private static final Logger log = LoggerFactory.getLogger(NativeXz.class);
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kiln-xz-watchdog");
        t.setDaemon(true);
        return t;
    });
    private static final byte[] PROBE_TEXT = "kiln xz probe\n".getBytes(StandardCharsets.US_ASCII);

    private final String program;
    private final Duration timeout;
    private volatile Boolean available;

    NativeXz(String program, Duration timeout) {
        this.program = program;
        this.timeout = timeout;
    }

    /**
     * Whether the program runs here with Kiln's options, asked once: it must decode a small stream to the
     * right bytes (an xz too old for an option, or no xz at all, leaves xz-java to do the work).
     */
    boolean available() {
        Boolean known = available;
        if (known == null) {
            synchronized (this) {
                known = available;
                if (known == null) {
                    known = probe();
                    if (known == null) {
                        return false; // interrupted: this unpack uses xz-java, the next one asks again
                    }
                    available = known;
                    if (!known) {
                        log.info("'{}' does not run here; .deb data members are decompressed by xz-java (slower)", program);
                    }
                }
            }
        }
        return known;
    }

    /** True or false, or null when interrupted before the answer. */
    private Boolean probe() {
        Process p = null;
        try {
            ByteArrayOutputStream xz = new ByteArrayOutputStream();
            try (XZOutputStream out = new XZOutputStream(xz, new LZMA2Options(0))) {
                out.write(PROBE_TEXT);
            }
            p = command().redirectError(ProcessBuilder.Redirect.DISCARD).start();
            ScheduledFuture<?> deadline = WATCHDOG.schedule(p::destroyForcibly, 10, TimeUnit.SECONDS);
            // a few hundred bytes each way: within a pipe's buffer, so writing all before reading cannot block
            try (var stdin = p.getOutputStream()) {
                stdin.write(xz.toByteArray());
            }
            byte[] out = p.getInputStream().readNBytes(PROBE_TEXT.length + 1);
            boolean ok = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && Arrays.equals(out, PROBE_TEXT);
            deadline.cancel(false);
            return ok;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    private ProcessBuilder command() {
        ProcessBuilder pb = new ProcessBuilder(List.of(program, "--decompress", "--stdout", "--format=xz", "--threads=0",
                "--memlimit=" + DebFile.XZ_MEMORY_KIB + "KiB"));
        pb.environment().remove("XZ_OPT");
        pb.environment().remove("XZ_DEFAULTS");
        pb.environment().put("LC_ALL", "C");
        return pb;
    }

    /**
     * The decoded bytes of the .xz file {@code compressed}. Reading to the end succeeds only if xz exited
     * 0 within the time bound; otherwise the read fails with xz's message, prefixed with {@code member}.
     * Closing the stream early kills xz.
     */
    InputStream open(Path compressed, String member) throws IOException {
        Path errors = Files.createTempFile(compressed.getParent(), ".xz", ".stderr");
        Process process;
        try {
            process = command().redirectInput(compressed.toFile()).redirectError(errors.toFile()).start();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(errors);
            throw e;
        }
        return new Decoded(process, errors, member);
    }

    private final class Decoded extends FilterInputStream {

        private final Process process;
        private final Path errors;
        private final String member;
        private final ScheduledFuture<?> deadline;
        private volatile boolean timedOut;
        private boolean ended;

        Decoded(Process process, Path errors, String member) {
            super(process.getInputStream());
            this.process = process;
            this.errors = errors;
            this.member = member;
            this.deadline = WATCHDOG.schedule(() -> {
                timedOut = true;
                process.destroyForcibly();
            }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n < 0 && !ended) {
                ended = true;
                finish();
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            return read(new byte[(int) Math.min(n, 1 << 16)], 0, (int) Math.min(n, 1 << 16));
        }

        /** At the end of the output: the bytes count only if xz says the stream was whole. */
        private void finish() throws IOException {
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    timedOut = true;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while decompressing " + member);
            }
            if (timedOut) {
                throw new IOException(member + ": xz took longer than " + timeout.toSeconds() + " s, Kiln's time bound; stopped there");
            }
            if (process.exitValue() != 0) {
                // 1: an error, 2: a warning (an unsupported integrity check, which xz-java refuses too)
                throw new IOException(member + ": " + said() + " (xz exited with " + process.exitValue() + ")");
            }
        }

        /**
         * The first line xz wrote to stderr, without its "xz: (stdin): " prefix: the error; lines after it only
         * elaborate (xz 5.4 with threads says a refused 1.5 GiB dictionary "requires 1 MiB").
         */
        private String said() {
            try (InputStream in = Files.newInputStream(errors)) {
                String first = new String(in.readNBytes(1024), StandardCharsets.UTF_8).strip().lines().findFirst().orElse("");
                String said = first.replaceFirst("^[^:\\s]+: \\(stdin\\): ", "").strip();
                return said.isEmpty() ? "xz failed" : said.replaceAll("\\p{Cntrl}", "?");
            } catch (IOException e) {
                return "xz failed";
            }
        }

        @Override
        public void close() throws IOException {
            deadline.cancel(false);
            try {
                if (process.isAlive()) {
                    process.destroyForcibly();
                    // reaped before the caller goes on: no xz outlives a refused package
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                try {
                    super.close();
                } finally {
                    Files.deleteIfExists(errors);
                }
            }
        }
    }
}
