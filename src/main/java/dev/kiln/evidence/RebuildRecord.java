package dev.kiln.evidence;

import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import dev.kiln.image.Composition;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Kiln's own predicate: why the image was rebuilt and what makes it fit to approve. Who or what triggered
 * the build; how its packages differ from the previous approved image; what hardening stripped, removed
 * and tightened; every check it passed. Defined in docs/evidence.md.
 */
final class RebuildRecord {

    static final String PREDICATE_TYPE = "https://kiln.dev/rebuild-record/v1";

    record Record(Build build, Image image, Previous previous, PackageDiff packageDiff, Hardening hardening, List<String> checksPassed) {
    }

    record Build(long id, String stack, String trigger, String by, String instance, String kiln, String started, String finished) {
    }

    record Image(String repository, String tag, String digest, String lockDigest, int packages) {
    }

    record Previous(Long build, String reference, String digest) {
    }

    /** Against the previous approved image's lock; with none, every package is added. */
    record PackageDiff(List<Version> added, List<Change> updated, List<Version> removed) {
    }

    record Version(String name, String version) {
    }

    record Change(String name, String from, String to) {
    }

    record Hardening(Settings settings, List<String> setuidStripped, List<String> removed, List<String> tightened, long droppedFiles,
                     long droppedBytes, List<String> generated) {
    }

    record Settings(boolean stripSetuid, boolean removeShells, boolean removePackageManagers, List<String> dropPaths) {
    }

    private RebuildRecord() {
    }

    static byte[] write(BuildFacts facts) {
        Lock before = facts.previous() == null || facts.previous().lock() == null
                ? new Lock(Lock.VERSION, facts.stackName(), "", facts.lock().architecture(), List.of(), List.of(), List.of())
                : facts.previous().lock();
        List<Version> added = new ArrayList<>();
        List<Change> updated = new ArrayList<>();
        List<Version> removed = new ArrayList<>();
        for (Lock.Change c : facts.lock().changesSince(before)) {
            if (c.from() == null) {
                added.add(new Version(c.name(), c.to()));
            } else if (c.to() == null) {
                removed.add(new Version(c.name(), c.from()));
            } else {
                updated.add(new Change(c.name(), c.from(), c.to()));
            }
        }
        Composition.Report report = facts.composition().report();
        Stack.Hardening h = facts.stack().hardening();
        List<String> checks = new ArrayList<>();
        int suites = facts.lock().releases().size();
        checks.add("InRelease of " + suites + " suite" + (suites == 1 ? "" : "s") + ": OpenPGP signature by the stack's keyring, "
                + "fresh (Valid-Until, Date), and every index read matched its SHA-256");
        checks.add("every one of the " + facts.lock().packages().size() + " packages matched the SHA-256 its signed index and the lock give");
        checks.addAll(report.checks());
        checks.addAll(facts.extraChecks());
        Previous previous = facts.previous() == null ? null
                : new Previous(facts.previous().buildId(), facts.previous().reference(), facts.previous().digest());
        return Json.write(new Record(
                new Build(facts.buildId(), facts.stackName(), facts.trigger(), facts.who(), facts.instance(), facts.kilnVersion(),
                        facts.started().truncatedTo(ChronoUnit.MILLIS).toString(), facts.finished().truncatedTo(ChronoUnit.MILLIS).toString()),
                new Image(facts.repository(), facts.tag(), facts.digest(), facts.lock().digest(), facts.lock().packages().size()),
                previous,
                new PackageDiff(added, updated, removed),
                new Hardening(new Settings(h.stripSetuid(), h.removeShells(), h.removePackageManagers(), h.dropPaths()),
                        report.setuidStripped(), report.removed(), report.tightened(), report.droppedFiles(), report.droppedBytes(),
                        report.generated()),
                checks));
    }
}
