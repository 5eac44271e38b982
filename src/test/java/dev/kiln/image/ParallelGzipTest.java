package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParallelGzipTest {

    @TempDir
    Path tmp;

    @Test
    void everySizeAroundTheBlockBoundaryDecompressesToTheInputWithTheJdkAndWithGzip() throws Exception {
        for (int size : List.of(0, 1, ParallelGzip.BLOCK - 1, ParallelGzip.BLOCK, ParallelGzip.BLOCK + 1, 5 * ParallelGzip.BLOCK + 12345)) {
            byte[] input = sample(size, size);
            byte[] gz = compress(input, 1, 1000);
            try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
                assertThat(in.readAllBytes()).as("size %d", size).isEqualTo(input);
            }
            Path file = tmp.resolve("x-" + size + ".gz");
            Files.write(file, gz);
            Process gzip = new ProcessBuilder("gzip", "-dc", file.toString()).start();
            byte[] out = gzip.getInputStream().readAllBytes();
            assertThat(gzip.waitFor()).as("gzip -dc of size %d", size).isZero();
            assertThat(out).isEqualTo(input);
        }
    }

    @Test
    void theOutputDependsOnlyOnTheInputAndLevelHoweverItIsWritten() throws Exception {
        byte[] input = sample(3 * ParallelGzip.BLOCK + 777, 7);
        assertThat(compress(input, 6, 1)).isEqualTo(compress(input, 6, 65536)).isEqualTo(compress(input, 6, 999_999));
    }

    @Test
    void theDictionaryKeepsTheRatioOfOneStream() throws Exception {
        byte[] input = sample(8 * ParallelGzip.BLOCK, 3);
        ByteArrayOutputStream single = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(single)) {
            gzip.write(input);
        }
        int parallel = compress(input, 6, 65536).length;
        assertThat((double) parallel / single.size()).isLessThan(1.01);
    }

    /** Text-like bytes: compressible, with repeats that cross block boundaries. */
    private static byte[] sample(int size, long seed) {
        Random random = new Random(seed);
        String[] words = {"usr/lib/jvm/", "libjvm.so", "class ", "java/lang/Object", "0123456789", "\n", " ", "ELF"};
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        while (out.size() < size) {
            if (random.nextInt(10) == 0) {
                out.write(random.nextInt(256));
            } else {
                out.writeBytes(words[random.nextInt(words.length)].getBytes());
            }
        }
        return java.util.Arrays.copyOf(out.toByteArray(), size);
    }

    private static byte[] compress(byte[] input, int level, int chunk) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ParallelGzip gzip = new ParallelGzip(out, level)) {
            for (int off = 0; off < input.length; off += chunk) {
                gzip.write(input, off, Math.min(chunk, input.length - off));
            }
        }
        return out.toByteArray();
    }
}
