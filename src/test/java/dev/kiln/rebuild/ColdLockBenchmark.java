package dev.kiln.rebuild;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.LockFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * Benchmark, not a test (run by {@code .ci/bench-lock}): the cold lock as the service meets it, in a
 * running JVM with an empty index cache (a new stack, or Debian publishing new indexes). Each round
 * times the baseline, the shell command given as the first argument that downloads and decompresses
 * the same indexes, then one lock of the catalog's java stack (Releases, indexes, snapshot,
 * resolution, lock file) into a fresh cache, so the two are measured side by side on a network whose
 * speed drifts.
 */
final class ColdLockBenchmark {

    public static void main(String[] args) throws Exception {
        String baseline = args[0];
        int rounds = Integer.parseInt(args[1]);
        Catalog catalog = Catalog.load(Path.of("catalog"));
        Stack java = catalog.stack("java").orElseThrow();
        for (int i = 0; i < 2; i++) {
            System.out.printf("warm-up lock %d: %d ms%n", i, lock(catalog, java));
        }
        List<Long> base = new ArrayList<>();
        List<Long> cold = new ArrayList<>();
        for (int i = 1; i <= rounds; i++) {
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder("bash", "-c", baseline).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new IllegalStateException("baseline failed");
            }
            base.add((System.nanoTime() - t0) / 1_000_000);
            cold.add(lock(catalog, java));
            System.out.printf("round %d: baseline %d ms, cold lock %d ms%n", i, base.get(i - 1), cold.get(i - 1));
        }
        System.out.printf("median: baseline %d ms, cold lock %d ms, ratio of medians %.2f%n", median(base), median(cold),
                (double) median(cold) / median(base));
    }

    /** One lock with the CLI's and the service's own wiring, on an empty data directory. */
    private static long lock(Catalog catalog, Stack stack) throws IOException {
        Path cache = Files.createTempDirectory("kiln-cold-");
        try {
            StandardEnvironment settings = new StandardEnvironment();
            settings.getPropertySources().addFirst(new MapPropertySource("benchmark", Map.of("kiln.data-dir", cache.toString())));
            KilnProperties properties = Binder.get(settings).bindOrCreate("kiln", KilnProperties.class);
            StackLocker locker = KilnConfiguration.services(properties, Clock.systemUTC()).locker();
            long t0 = System.nanoTime();
            StackLocker.Outcome outcome = locker.resolve(catalog, stack);
            if (!outcome.ok()) {
                throw new IllegalStateException(outcome.problems().toString());
            }
            LockFile.write(cache.resolve("java.lock.json"), outcome.lock());
            return (System.nanoTime() - t0) / 1_000_000;
        } finally {
            try (var files = Files.walk(cache)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    private static long median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
