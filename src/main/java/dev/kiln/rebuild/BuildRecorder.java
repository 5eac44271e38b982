package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogRevision;
import dev.kiln.catalog.Stack;
import dev.kiln.compliance.Inspection;
import dev.kiln.debian.Lock;
import dev.kiln.evidence.BuildFacts;
import dev.kiln.evidence.EvidenceFactory;
import dev.kiln.evidence.Predicate;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.PackageSightings;
import dev.kiln.image.LayerInspector;
import dev.kiln.publish.Blob;
import dev.kiln.publish.Digests;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.Manifest;
import dev.kiln.sign.Claim;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.json.JsonMapper;

/**
 * What the pipeline records for review besides the build row: the stack definition each build is made
 * from, when each package version was first seen, and for a published image its config and its
 * measurement (every pushed layer read back from its bytes, the target's answers) and the documents
 * generated for it (SBOMs, provenance, rebuild record). Written before the build is approved, so an
 * approved image always has them; a failure here fails the build.
 */
public final class BuildRecorder {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final BuildRecords records;
    private final PackageSightings sightings;

    public BuildRecorder(BuildRecords records, PackageSightings sightings) {
        this.records = records;
        this.sightings = sightings;
    }

    /** A resolution of {@code stack} picked these package versions: the ones not seen before are seen now. */
    public int seen(String stack, Lock lock) {
        List<PackageSightings.Sighting> found = new ArrayList<>();
        for (Lock.Package p : lock.packages()) {
            Instant date = lock.releases().stream().filter(r -> r.suite().equals(p.suite()) && p.url().startsWith(r.url())).findFirst()
                    .map(r -> parse(r.date())).orElse(null);
            found.add(new PackageSightings.Sighting(p.name(), p.version(), p.architecture(), p.suite(), date));
        }
        return sightings.seen(stack, found);
    }

    /** The build is made from this definition and lock. */
    void resolved(long build, Stack stack, Lock lock) {
        records.definition(build, Catalog.canonical(stack));
        seen(stack.name(), lock);
    }

    /**
     * Everything about a published image the rebuild pipeline knows when it records it; {@code attested}
     * the claims it signed and attached (none when unsigned), kept as its documents instead of making them again.
     */
    record Built(long id, Catalog catalog, Stack stack, Lock lock, StackBuilder.Result result, ImageTarget target, String repository,
                 Optional<History.Good> previous, Lock previousLock, String trigger, String who, Instant started, String instance,
                 String kilnVersion, String buildSettings, List<Claim> attested) {
        Built {
            attested = List.copyOf(attested);
        }
    }

    private static final java.util.Set<String> DOCUMENTS = java.util.Set.of(EvidenceFactory.SPDX, EvidenceFactory.CYCLONEDX,
            EvidenceFactory.SLSA_PROVENANCE, EvidenceFactory.REBUILD_RECORD);

    /** The layers of an image being measured, on another thread while it is pushed. */
    record Measuring(Manifest image, java.util.concurrent.CompletableFuture<List<Measured>> layers) {
    }

    /** A layer's facts, and whether they were measured now (to be kept) or known from an earlier build. */
    record Measured(LayerInspector.Facts facts, boolean now) {
    }

    private static final java.util.concurrent.ExecutorService MEASURING = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "kiln-measure-layers");
        t.setDaemon(true);
        return t;
    });

    /**
     * Starts measuring {@code image}'s layers (a read of every new layer: a second or more for a JRE) and,
     * when {@code documentsHere}, loading the SBOM libraries, so that recording does not wait for either
     * after the push. Nothing is written until {@link #published}.
     */
    Measuring measure(Manifest image, boolean documentsHere) {
        if (documentsHere) {
            EvidenceFactory.prepareInBackground();
        }
        return new Measuring(image, java.util.concurrent.CompletableFuture.supplyAsync(() -> layers(image), MEASURING));
    }

    private List<Measured> layers(Manifest image) {
        List<Measured> layers = new ArrayList<>();
        for (Blob blob : image.blobs().subList(1, image.blobs().size())) {
            Optional<tools.jackson.databind.JsonNode> known = records.layer(blob.digest());
            if (known.isPresent()) {
                layers.add(new Measured(JSON.treeToValue(known.get(), LayerInspector.Facts.class), false));
                continue;
            }
            try (InputStream in = blob.open()) {
                layers.add(new Measured(LayerInspector.inspect(blob.digest(), in), true));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return layers;
    }

    /** Measures the pushed image (or takes what {@code measuring} measured of it) and generates its documents. */
    void published(Built b, Measuring measuring) {
        // an image index is measured and documented through its first platform image (the records hold one
        // image per build); each platform's own signed documents are in the build's evidence
        StackBuilder.Platform shown = b.result().platforms().get(0);
        boolean index = b.result().index();
        Stack stack = index ? b.stack().forArchitecture(shown.architecture()) : b.stack();
        Manifest image = shown.image();
        Blob configBlob = image.blobs().get(0);
        List<Measured> measured;
        if (measuring != null && measuring.image().digest().equals(image.digest())) {
            try {
                measured = measuring.layers().join();
            } catch (java.util.concurrent.CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        } else {
            measured = layers(image);
        }
        List<LayerInspector.Facts> layers = new ArrayList<>();
        for (Measured m : measured) {
            if (m.now()) {
                records.layerMeasured(m.facts().digest(), m.facts());
            }
            layers.add(m.facts());
        }
        ImageTarget.Protection protection = b.target().protection(b.repository()).orElse(null);
        Inspection inspection = new Inspection(Instant.now(), layers, new Inspection.Target(b.target().name(), b.result().published().tag(),
                !b.result().published().alreadyPresent(), protection));
        records.measured(b.id(), JSON.readTree(bytes(configBlob)), inspection);

        Optional<CatalogRevision> revision = CatalogRevision.of(b.catalog().directory());
        String repository = b.target().pullReference(b.repository(), b.result().published().digest())
                .map(r -> r.substring(0, r.indexOf('@'))).orElse(b.repository());
        Lock previousLock = index ? Rebuilds.platformView(b.previousLock(), shown.architecture()) : b.previousLock();
        BuildFacts.Previous previous = b.previous().map(g -> new BuildFacts.Previous(g.id(), g.digest(), g.reference(), previousLock))
                .orElse(null);
        BuildFacts facts = new BuildFacts(stack, revision.map(CatalogRevision::commit).orElse(null),
                revision.flatMap(CatalogRevision::sourceUrl).orElse(null), shown.lock(), shown.composition(), repository,
                shown.image().digest(), b.result().published().tag(), b.kilnVersion(), b.instance(), b.buildSettings(), b.id(),
                b.trigger(), b.who(), b.started(), Instant.now(), previous, List.of());
        // a signed build's documents are the predicates it attested, byte for byte; only an unsigned one's are made here
        java.util.Map<String, byte[]> documents = new java.util.LinkedHashMap<>();
        b.attested().stream().filter(c -> DOCUMENTS.contains(c.predicateType())).forEach(c -> documents.put(c.predicateType(), c.json()));
        if (!documents.keySet().containsAll(DOCUMENTS)) {
            for (Predicate p : EvidenceFactory.predicates(facts)) {
                documents.putIfAbsent(p.predicateType(), p.json());
            }
        }
        documents.forEach((type, json) -> records.document(b.id(), kind(type), type, Digests.sha256(json), json));
    }

    private static String kind(String predicateType) {
        return switch (predicateType) {
            case EvidenceFactory.SPDX -> "spdx";
            case EvidenceFactory.CYCLONEDX -> "cyclonedx";
            case EvidenceFactory.SLSA_PROVENANCE -> "provenance";
            case EvidenceFactory.REBUILD_RECORD -> "rebuild-record";
            default -> throw new IllegalStateException("unknown predicate type " + predicateType);
        };
    }

    private static byte[] bytes(Blob blob) {
        try (InputStream in = blob.open()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Instant parse(String date) {
        try {
            return date == null ? null : Instant.parse(date);
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }
}
