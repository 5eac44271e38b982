package dev.kiln.evidence;

import java.util.List;

/**
 * The evidence of one build, as the predicates of the attestations that go with its image: SLSA
 * provenance, an SPDX 2.3 and a CycloneDX 1.6 SBOM, and Kiln's rebuild record. Pure: facts in, JSON out;
 * the same facts give the same bytes. Signing and attaching them is dev.kiln.sign's job.
 */
public final class EvidenceFactory {

    public static final String SLSA_PROVENANCE = SlsaProvenance.PREDICATE_TYPE;
    public static final String SPDX = "https://spdx.dev/Document";
    public static final String CYCLONEDX = "https://cyclonedx.org/bom";
    public static final String REBUILD_RECORD = RebuildRecord.PREDICATE_TYPE;

    private static final java.util.concurrent.atomic.AtomicBoolean PREPARING = new java.util.concurrent.atomic.AtomicBoolean();

    private EvidenceFactory() {
    }

    /**
     * Loads the SPDX and CycloneDX libraries and the SPDX licence list, which costs seconds in a fresh JVM,
     * on a daemon thread, so that the first build's evidence does not wait for it: call it when a build
     * starts (or the service does). Idempotent; the first predicates() waits for whatever is left.
     */
    public static void prepareInBackground() {
        if (PREPARING.compareAndSet(false, true)) {
            Thread t = new Thread(EvidenceFactory::prepare, "kiln-evidence-prepare");
            t.setDaemon(true);
            t.start();
        }
    }

    /** What prepareInBackground() does, on this thread. */
    public static void prepare() {
        Libraries.load();
    }

    /** All four predicates, in this order: provenance, SPDX, CycloneDX, rebuild record. */
    public static List<Predicate> predicates(BuildFacts facts) {
        Inventory inventory = Inventory.of(facts);
        return List.of(provenance(facts), spdx(facts, inventory), cycloneDx(facts, inventory), rebuildRecord(facts));
    }

    public static Predicate provenance(BuildFacts facts) {
        return new Predicate(SLSA_PROVENANCE, "slsaprovenance1", SlsaProvenance.write(facts));
    }

    public static Predicate spdx(BuildFacts facts) {
        return spdx(facts, Inventory.of(facts));
    }

    public static Predicate cycloneDx(BuildFacts facts) {
        return cycloneDx(facts, Inventory.of(facts));
    }

    public static Predicate rebuildRecord(BuildFacts facts) {
        return new Predicate(REBUILD_RECORD, REBUILD_RECORD, RebuildRecord.write(facts));
    }

    private static Predicate spdx(BuildFacts facts, Inventory inventory) {
        return new Predicate(SPDX, "spdxjson", SpdxWriter.write(facts, inventory));
    }

    private static Predicate cycloneDx(BuildFacts facts, Inventory inventory) {
        return new Predicate(CYCLONEDX, "cyclonedx", CycloneDxWriter.write(facts, inventory));
    }
}
