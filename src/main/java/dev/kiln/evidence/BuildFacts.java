package dev.kiln.evidence;

import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import dev.kiln.image.Composition;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Everything the evidence of one build is made from, as the rebuild pipeline knows it once the image is
 * published. Nothing here is read again from anywhere: the documents are a pure function of these facts.
 *
 * @param stack          the stack definition as built
 * @param catalogCommit  the catalog's git commit, or null when the catalog is not a git checkout
 * @param catalogSource  the catalog's origin as a public URL (CatalogRevision.sourceUrl), or null
 * @param lock           the lock the image was built from
 * @param composition    the composed image: packages with their files, Kiln's own files, hardening report
 * @param repository     the repository as pushed, with its registry ({@code localhost:5000/golden/java};
 *                       a local OCI layout's repository name alone)
 * @param digest         the image manifest's digest, {@code sha256:HEX}
 * @param tag            the tag it was published under
 * @param kilnVersion    Kiln's version (KilnConfiguration.kilnVersion())
 * @param instance       the Kiln instance that built it (Rebuilds.instance())
 * @param buildSettings  the settings that shape an image besides the stack, as Rebuilds fingerprints them
 * @param buildId        the build's id in the history
 * @param trigger        what started the build (schedule, manual, api, catalog ...)
 * @param who            who started it
 * @param started        when the build started
 * @param finished       when the image was published
 * @param previous       the previous approved image of this stack on this target, or null for the first
 * @param extraChecks    checks the pipeline passed besides the image's own (a target's scan gate, say), in words
 */
public record BuildFacts(Stack stack, String catalogCommit, String catalogSource, Lock lock, Composition composition,
                         String repository, String digest, String tag, String kilnVersion, String instance, String buildSettings,
                         long buildId, String trigger, String who, Instant started, Instant finished, Previous previous,
                         List<String> extraChecks) {

    public BuildFacts {
        Objects.requireNonNull(stack, "stack");
        Objects.requireNonNull(lock, "lock");
        if (composition == null && !lock.multiArchitecture()) {
            // only an image index has none: its platform images have theirs, and only its provenance is made
            throw new NullPointerException("composition");
        }
        Objects.requireNonNull(repository, "repository");
        Objects.requireNonNull(digest, "digest");
        Objects.requireNonNull(kilnVersion, "kilnVersion");
        Objects.requireNonNull(instance, "instance");
        Objects.requireNonNull(started, "started");
        Objects.requireNonNull(finished, "finished");
        if (!digest.matches("sha256:[0-9a-f]{64}")) {
            throw new EvidenceException("image digest '" + digest + "' is not sha256:<64 hex>");
        }
        extraChecks = extraChecks == null ? List.of() : List.copyOf(extraChecks);
    }

    /**
     * The previous approved image: its build, digest and reference (History.Good), and the lock it was
     * built from (the history keeps it as JSON: LockFile.fromJson). Any of them may be null when not
     * known; a null lock makes the package diff list every package as added.
     */
    public record Previous(Long buildId, String digest, String reference, Lock lock) {
    }

    public String stackName() {
        return stack.name();
    }
}
