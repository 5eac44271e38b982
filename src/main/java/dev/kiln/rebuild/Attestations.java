package dev.kiln.rebuild;

import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import dev.kiln.image.Composition;
import dev.kiln.sign.Claim;
import java.time.Instant;
import java.util.List;

/**
 * Where a build's attestations come from (its SBOMs, SLSA provenance and rebuild record): the claims
 * about an image, made from what the pipeline knows when the image is assembled. The signature itself
 * is not one of them; {@link Attester} adds it.
 */
@FunctionalInterface
public interface Attestations {

    /**
     * What a build knows when its image is assembled and about to be published.
     *
     * @param subject      the image's name in statements: {@code HOST/REPOSITORY} where it is pulled from a registry
     * @param previousLock the lock of the stack's approved image before this build (null: none), for the package diff
     * @param catalogSource the catalog's origin as a public URL, or null
     * @param buildSettings the settings that shape the image besides the stack, as the fingerprint spells them
     * @param previous      the stack's approved image on this target before this build, or null
     */
    record Facts(long build, Stack stack, String stackDigest, String catalogCommit, Lock lock, Lock previousLock, Composition composition,
                 String target, String repository, String subject, String imageDigest, String tag, String kilnVersion, String instance,
                 String trigger, String who, Instant startedAt, Instant finishedAt, String catalogSource, String buildSettings,
                 Previous previous) {
    }

    /** The approved image a build follows: its build, digest and reference. */
    record Previous(long build, String digest, String reference) {
    }

    List<Claim> claims(Facts facts);

    /** No attestations: images are signed, nothing more. */
    Attestations NONE = facts -> List.of();
}
