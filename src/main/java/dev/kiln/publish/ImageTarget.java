package dev.kiln.publish;

import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where images go: the one port for every target (the local OCI layout, any OCI registry, ECR). An
 * adapter copies assembled content (the same bytes, by digest) and answers questions about what a
 * repository holds; everything a target needs of its own (ECR's repository settings, its token, its
 * confirmation and scan) stays inside its adapter. Repository names are full names under the target
 * ({@link #repository} applies the target's namespace).
 */
public interface ImageTarget {

    /** The target as recorded with each build ("local", "HOST[:PORT][/NAMESPACE]", "ecr:HOST[/NAMESPACE]"). */
    String name();

    /** The repository a stack's images go to under this target (its namespace applied). */
    String repository(String stackRepository);

    /** A human reference to {@code repository:tag} on this target. */
    String reference(String repository, String tag);

    /** What {@code docker pull} takes for the image {@code digest}, or empty for a target nothing pulls from (the local layout). */
    Optional<String> pullReference(String repository, String digest);

    /** Readies a repository for pushes (ECR: creates it with the configured settings). Idempotent. */
    default void prepare(String repository) {
    }

    /** The digest {@code tag} names in {@code repository}, if the tag exists. */
    Optional<String> tagged(String repository, String tag);

    /**
     * Copies {@code manifest} and everything it references into {@code repository}, then names it by each
     * of {@code tags} (none: by digest only). Blobs the repository has are skipped; blobs another
     * repository of the target has are mounted, not uploaded. Tags are set last, so a failure leaves no
     * tag pointing at a partial image. Adapters that can confirm the push (ECR) do so before returning.
     */
    Pushed push(String repository, Manifest manifest, List<String> tags);

    /**
     * Names an image already in {@code repository} (pushed by digest) by {@code tag}: only the manifest is
     * put again. Adapters that can confirm the push (ECR) do so before returning.
     */
    default Pushed tag(String repository, Manifest manifest, String tag) {
        return push(repository, manifest, List.of(tag));
    }

    /** What a push cost: bytes uploaded and blobs uploaded, mounted or already present. */
    record Pushed(String digest, long bytesUploaded, int uploaded, int mounted, int present) {
    }

    /** Reads a manifest by tag or digest, with its bytes as served (checked against a digest reference). */
    Optional<Manifest> manifest(String repository, String reference);

    /** Reads a blob, refusing more than {@code maxBytes}; the caller checks its digest. */
    InputStream blob(String repository, String digest, long maxBytes);

    /**
     * Attaches artifact manifests (each with a {@code subject}: an image's signature and attestations) so
     * that OCI 1.1 referrers queries find them: through the registry's referrers API where it has one,
     * else through the referrers tag schema ({@code sha256-HEX} naming an index of the referrers, updated
     * once for all of them), as cosign and ORAS do. What each cost, in order.
     */
    List<Pushed> attach(String repository, List<Manifest> artifacts);

    /** Attaches one artifact manifest (see the list form). */
    default Pushed attach(String repository, Manifest artifact) {
        return attach(repository, List.of(artifact)).get(0);
    }

    /** The manifests that refer to {@code digest} (their descriptors carry artifactType and annotations). */
    List<Descriptor> referrers(String repository, String digest);

    /** One image of a repository: its tags and, where the target records them, push and pull times. */
    record Listed(String digest, List<String> tags, Optional<Instant> pushedAt, Optional<Instant> lastPulled) {
        public Listed {
            tags = List.copyOf(tags);
        }
    }

    /** The images of {@code repository} with their tags (referrer artifacts and their fallback tags left out). */
    List<Listed> images(String repository);

    /** Whether {@link #images} reports pull times (ECR does; a registry and the local layout cannot). */
    boolean pullTimesKnown();

    /**
     * Deletes images by digest, each with every tag naming it and every artifact referring to it (its
     * signatures and attestations), so nothing is left orphaned. Returns, per digest not deleted, why;
     * an image already gone counts as deleted.
     */
    Map<String, String> delete(String repository, List<String> digests);

    /**
     * The target's own review of a pushed image (an image manifest, or an index with its platform images)
     * before it may become the approved one (ECR: the scan gate). Empty: this target does not review images.
     */
    default Optional<Review> review(String repository, Manifest image) {
        return Optional.empty();
    }

    /**
     * How the target protects {@code repository}, as it reports it now (ECR: the repository's settings).
     * Empty: the target has no such settings (an OCI registry, the local layout).
     */
    default Optional<Protection> protection(String repository) {
        return Optional.empty();
    }

    /**
     * @param tagMutability   IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE
     * @param mutableTags     the tag wildcards exempt from immutability
     * @param encryption      how images are encrypted at rest (AES256, KMS, KMS_DSSE)
     * @param kmsKey          the KMS key that encrypts them, or null
     * @param configuredKey   the customer managed key Kiln is configured to use, or null
     */
    record Protection(String tagMutability, List<String> mutableTags, String encryption, String kmsKey, String configuredKey) {
        public Protection {
            mutableTags = List.copyOf(mutableTags);
        }
    }

    /**
     * A target's review: whether it holds the image back (published and recorded, never approved), why,
     * and its evidence (a scan's status and findings).
     */
    record Review(boolean holdsBack, String reason, Map<String, Object> evidence) {
        public Review {
            evidence = Map.copyOf(evidence);
        }
    }
}
