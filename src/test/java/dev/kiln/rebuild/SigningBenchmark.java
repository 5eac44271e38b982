package dev.kiln.rebuild;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.database.Database;
import dev.kiln.debian.Lock;
import dev.kiln.history.History;
import dev.kiln.image.Composer;
import dev.kiln.image.Composition;
import dev.kiln.image.LayerCache;
import dev.kiln.image.UnpackCache;
import dev.kiln.publish.Publisher;
import dev.kiln.sign.Claim;
import dev.kiln.sign.Signer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Benchmark, not a test (run by {@code .ci/bench-sign}): what signing and attesting add to a build of
 * the catalog's {@code static} and {@code java} stacks, published to Debian's docker-registry (no
 * referrers API: the fallback tag, the slower path). Each round builds the stack twice, unsigned and
 * signed (in alternating order, on a VM whose speed drifts), each with its own description (a label, so
 * only the image config differs) so every build makes and pushes a new image; the layers come from the
 * warm layer cache, then, in a second series, each build composes every layer again. Signed builds carry the signature and four
 * attestations: by default the real ones (dev.kiln.evidence's documents, made, signed, attached and read
 * back: what a build with a key costs); with a fourth argument {@code stand-in}, predicates of the real
 * documents' size made here (SBOMs listing every package and every file it contributes, the provenance
 * every .deb), which times signing, attaching and reading back alone.
 */
final class SigningBenchmark {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    public static void main(String[] args) throws Exception {
        String registry = args[0];
        Path key = Path.of(args[1]);
        int rounds = Integer.parseInt(args[2]);
        Path data = Files.createTempDirectory("kiln-bench-sign-");
        Catalog catalog = Catalog.load(Path.of("catalog"));
        KilnProperties properties = new KilnProperties(Path.of("catalog"), data, null,
                new KilnProperties.Build(registry + "/bench", null, null, null, null, null, null), null, null, null, null, null, null,
                new KilnProperties.Signing(key.toString(), null, null, null));
        KilnConfiguration.Services services = KilnConfiguration.services(properties, Clock.systemUTC());
        try (Database database = Database.open(new Database.Settings(null, null, null), data, 2).migrate()) {
            History history = new History(database.dataSource());
            BuildRecorder recorder = new BuildRecorder(new dev.kiln.history.BuildRecords(database.dataSource()),
                    new dev.kiln.history.PackageSightings(database.dataSource()));
            dev.kiln.history.RebaseGrants rebases = new dev.kiln.history.RebaseGrants(database.dataSource());
            // real: the attestations a build carries (dev.kiln.evidence makes them, then they are signed and attached);
            // stand-in: documents of the same size made here, to time signing and attaching alone
            boolean standIn = args.length > 3 && args[3].equals("stand-in");
            Attestations attestations = standIn ? SigningBenchmark::standIns : new EvidenceAttestations();
            System.out.println("attestations: " + (standIn ? "stand-ins of the real documents' size" : "dev.kiln.evidence's (real)"));
            Attester signed = Attester.signing(new Signer(services.signingKey().orElseThrow(), Clock.systemUTC()), attestations);
            for (String name : List.of("static", "java")) {
                Stack stack = catalog.stack(name).orElseThrow();
                StackLocker.Outcome locked = services.locker().resolve(catalog, stack);
                if (!locked.ok()) {
                    throw new IllegalStateException(locked.problems().toString());
                }
                Lock lock = locked.lock();
                run(services, history, recorder, rebases, catalog, stack, lock, Attester.unsigned(), "warm-up", false);
                for (boolean cold : List.of(false, true)) {
                    List<Double> plain = new ArrayList<>();
                    List<Double> withEvidence = new ArrayList<>();
                    for (int i = 1; i <= rounds; i++) {
                        boolean signedFirst = i % 2 == 0;
                        for (int k = 0; k < 2; k++) {
                            boolean sign = (k == 0) == signedFirst;
                            double s = run(services, history, recorder, rebases, catalog, stack, lock, sign ? signed : Attester.unsigned(),
                                    (sign ? "s" : "u") + (cold ? "c" : "w") + i, cold);
                            (sign ? withEvidence : plain).add(s);
                        }
                        System.out.printf(Locale.ROOT, "%s %s round %d: unsigned %.2f s, signed %.2f s%n", name, cold ? "cold layers" : "warm layers", i,
                                plain.get(i - 1), withEvidence.get(i - 1));
                    }
                    double u = median(plain);
                    double s = median(withEvidence);
                    System.out.printf(Locale.ROOT, "%s, %s: unsigned median %.2f s, signed median %.2f s: +%.2f s (+%.0f%%)%n", name,
                            cold ? "every layer composed" : "layers from the cache", u, s, s - u, (s - u) / u * 100);
                }
            }
        }
    }

    /** One recorded build through the pipeline, under a tag and a creation time of its own; wall seconds. */
    private static double run(KilnConfiguration.Services services, History history, BuildRecorder recorder,
                              dev.kiln.history.RebaseGrants rebases, Catalog catalog, Stack stack, Lock lock, Attester attester,
                              String tag, boolean coldLayers) throws Exception {
        KilnProperties.Build build = services.properties().build();
        Path layers = services.properties().dataDir().resolve("cache/layers");
        if (coldLayers) {
            try (var files = Files.walk(layers)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    if (!f.equals(layers)) {
                        Files.delete(f);
                    }
                }
            }
        }
        Path dir = Files.createDirectories(services.properties().dataDir().resolve("catalog-" + tag));
        Files.writeString(dir.resolve(stack.name() + ".yaml"), Files.readString(catalog.file(stack.name()))
                .replaceFirst("(?m)^description: .*$", "description: benchmark round " + tag));
        Files.createDirectories(dir.resolve("keys"));
        Files.copy(catalog.keyring(stack), dir.resolve(stack.source().keyring()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        StackBuilder builder = new StackBuilder(services.packages(), new Composer(build.maxLayers(), build.largePackageBytes(),
                new LayerCache(layers, build.layerCacheKeep(), Clock.systemUTC(), build.compressionLevel()),
                new UnpackCache(services.properties().dataDir().resolve("cache/unpacked"), build.layerCacheKeep(), Clock.systemUTC(),
                        build.nativeXz())),
                new Publisher(Clock.systemUTC()), null);
        Rebuilds rebuilds = new Rebuilds(new dev.kiln.catalog.CatalogCache(dir, Catalog.Rules.DEFAULT), services.locker(), builder, history, services.target(), "bench",
                KilnConfiguration.kilnVersion(), new BuildSettings(build.maxLayers(), build.largePackageBytes(), build.compressionLevel(), ""), new SimpleMeterRegistry(),
                Duration.ofMinutes(30), attester,
                recorder, rebases);
        Lock relocked = new Lock(lock.lockVersion(), lock.stack(), Catalog.digest(Catalog.load(dir).stack(stack.name()).orElseThrow()), lock.architecture(),
                lock.releases(), lock.packages(), lock.dropped());
        long t0 = System.nanoTime();
        Rebuilds.Outcome o = rebuilds.run(new Rebuilds.Request(stack.name(), "manual", "bench", null, null, Optional.of(relocked), Optional.of(tag)));
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (!o.status().equals("succeeded")) {
            throw new IllegalStateException(stack.name() + ": " + o.status() + ": " + o.detail());
        }
        return seconds;
    }

    /** Predicates the size of the real ones: both SBOMs with every package and file, the provenance with every .deb. */
    static List<Claim> standIns(Attestations.Facts facts) {
        ObjectNode spdx = JSON.createObjectNode().put("spdxVersion", "SPDX-2.3").put("dataLicense", "CC0-1.0").put("SPDXID", "SPDXRef-DOCUMENT")
                .put("name", facts.stack().name()).put("documentNamespace", "https://kiln.dev/spdx/" + facts.build());
        ArrayNode packages = spdx.putArray("packages");
        ArrayNode files = spdx.putArray("files");
        ObjectNode bom = JSON.createObjectNode().put("bomFormat", "CycloneDX").put("specVersion", "1.6").put("version", 1);
        ArrayNode components = bom.putArray("components");
        for (Composition.Package p : facts.composition().packages()) {
            ObjectNode pkg = packages.addObject().put("name", p.name()).put("SPDXID", "SPDXRef-Package-" + p.name()).put("versionInfo", p.version())
                    .put("supplier", "Organization: " + p.maintainer()).put("downloadLocation", "NOASSERTION")
                    .put("licenseConcluded", "NOASSERTION").put("copyrightText", p.copyright() == null ? "NOASSERTION" : p.copyright());
            pkg.putArray("checksums").addObject().put("algorithm", "SHA256").put("checksumValue", p.sha256());
            ObjectNode component = components.addObject().put("type", "library").put("name", p.name()).put("version", p.version())
                    .put("purl", "pkg:deb/debian/" + p.name() + "@" + p.version() + "?arch=" + p.architecture() + "&distro=debian-13");
            ArrayNode parts = component.putArray("components");
            for (String f : p.files()) {
                files.addObject().put("fileName", f).put("SPDXID", "SPDXRef-File-" + Integer.toHexString(f.hashCode()))
                        .putArray("checksums").addObject().put("algorithm", "SHA256").put("checksumValue", p.sha256());
                parts.addObject().put("type", "file").put("name", f);
            }
        }
        ObjectNode slsa = JSON.createObjectNode();
        ObjectNode definition = slsa.putObject("buildDefinition").put("buildType", "https://kiln.dev/build/v1");
        definition.putObject("externalParameters").put("stack", facts.stack().name()).put("stackDigest", facts.stackDigest());
        ArrayNode deps = definition.putArray("resolvedDependencies");
        facts.lock().packages().forEach(p -> deps.addObject().put("uri", p.url()).putObject("digest").put("sha256", p.sha256()));
        slsa.putObject("runDetails").putObject("builder").put("id", "https://kiln.dev/instance/" + facts.instance());
        ObjectNode record = JSON.createObjectNode().put("build", facts.build()).put("trigger", facts.trigger()).put("by", facts.who());
        record.set("hardening", JSON.valueToTree(facts.composition().report()));
        List<Claim> claims = List.of(claim("https://slsa.dev/provenance/v1", "slsaprovenance1", slsa), claim("https://spdx.dev/Document", "spdxjson", spdx),
                claim("https://cyclonedx.org/bom", "cyclonedx", bom), claim("https://kiln.dev/rebuild-record/v1", "https://kiln.dev/rebuild-record/v1", record));
        if (SIZES_SHOWN.add(facts.stack().name())) {
            System.out.println(facts.stack().name() + " predicates: " + claims.stream().map(c -> c.predicateType() + " " + c.json().length / 1024 + " KiB").toList());
        }
        return claims;
    }

    private static final java.util.Set<String> SIZES_SHOWN = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static Claim claim(String type, String cosignType, ObjectNode json) {
        return new Claim(type, cosignType, JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8));
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
