package dev.kiln.evidence;

import dev.kiln.debian.Lock;
import dev.kiln.rebuild.StackBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Benchmark, not a test (run by {@code .ci/bench-evidence}): the evidence of the catalog's java stack,
 * built from the live Debian archive into a local OCI layout. Times EvidenceFactory.predicates in a warm
 * JVM, each document alone, and prints sizes; the script then times syft reading the same image, which
 * is what users would run instead.
 */
final class EvidenceBenchmark {

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        String stack = args.length > 1 ? args[1] : "java";
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        RealBuild kiln = new RealBuild(Path.of("catalog"), data, "local", null);
        Lock lock = kiln.lock(stack);
        long t0 = System.nanoTime();
        StackBuilder.Result result = kiln.build(stack, lock);
        System.out.printf("built %s in %.1f s: %s, %d packages, %d package files, %d Kiln files%n", stack, (System.nanoTime() - t0) / 1e9,
                result.published().digest(), result.composition().packages().size(),
                result.composition().packages().stream().mapToInt(p -> p.entries().size()).sum(), result.composition().kilnEntries().size());
        BuildFacts facts = kiln.facts(result, 1, Instant.now(), null);
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long prepare = System.nanoTime();
        long prepareCpu = threads.getCurrentThreadCpuTime();
        EvidenceFactory.prepare();
        System.out.printf("prepare (libraries and licence list, cold JVM; wall / CPU): %d / %d ms%n", (System.nanoTime() - prepare) / 1_000_000,
                (threads.getCurrentThreadCpuTime() - prepareCpu) / 1_000_000);
        long cold = System.nanoTime();
        long coldCpu = threads.getCurrentThreadCpuTime();
        List<Predicate> first = EvidenceFactory.predicates(facts);
        System.out.printf("first predicates after prepare (wall / CPU): %d / %d ms%n", (System.nanoTime() - cold) / 1_000_000,
                (threads.getCurrentThreadCpuTime() - coldCpu) / 1_000_000);
        for (Predicate p : first) {
            System.out.printf("  %-36s %8d bytes%n", p.predicateType(), p.json().length);
            Files.write(data.resolve(p.cosignType().replaceAll("[^a-z0-9]+", "-") + ".json"), p.json());
        }
        for (int i = 0; i < 5; i++) {
            EvidenceFactory.predicates(facts);
        }
        // CPU time of this thread besides wall time: on a shared machine the wall clock mostly measures the neighbours
        java.lang.management.ThreadMXBean cpu = threads;
        List<Long> all = new ArrayList<>();
        List<Long> allCpu = new ArrayList<>();
        List<Long> spdx = new ArrayList<>();
        List<Long> spdxCpu = new ArrayList<>();
        List<Long> cdx = new ArrayList<>();
        List<Long> cdxCpu = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
            long a = System.nanoTime();
            long ac = cpu.getCurrentThreadCpuTime();
            EvidenceFactory.predicates(facts);
            long b = System.nanoTime();
            long bc = cpu.getCurrentThreadCpuTime();
            EvidenceFactory.spdx(facts);
            long c = System.nanoTime();
            long cc = cpu.getCurrentThreadCpuTime();
            EvidenceFactory.cycloneDx(facts);
            long d = System.nanoTime();
            long dc = cpu.getCurrentThreadCpuTime();
            all.add(b - a);
            allCpu.add(bc - ac);
            spdx.add(c - b);
            spdxCpu.add(cc - bc);
            cdx.add(d - c);
            cdxCpu.add(dc - cc);
        }
        System.out.printf("warm, median of %d (wall / CPU): all four predicates %d / %d ms, SPDX alone %d / %d ms, CycloneDX alone %d / %d ms%n",
                rounds, median(all), median(allCpu), median(spdx), median(spdxCpu), median(cdx), median(cdxCpu));
    }

    private static long median(List<Long> nanos) {
        return nanos.stream().sorted().toList().get(nanos.size() / 2) / 1_000_000;
    }
}
