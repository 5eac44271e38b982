package dev.kiln.publish;

import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Publishes an assembled image under an immutable tag on a target. The digest is known before any
 * lookup, so a tag that already holds it is a no-op and a tag that holds another digest is an error;
 * the tag is checked again right before the push (registries have no conditional tag put, so a writer
 * racing in between is caught by ECR's immutable tags, not here).
 * <p>
 * An image with referrers (its signature and attestations) goes in three steps: its content by digest,
 * then the referrers, then the tag. So a tag never names an image whose evidence is not attached yet,
 * and referrers are never attached to an image the target does not hold.
 */
public final class Publisher {

    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyyMMdd");
    private static final int MAX_BUILDS_PER_DAY = 999;

    private final Clock clock;

    public Publisher(Clock clock) {
        this.clock = clock;
    }

    /**
     * How tags are made: the template's {@code {version}}, {@code {yyyymmdd}} (UTC) and the first free
     * {@code {n}}; {@code used} are tags given to images before (retired ones too), never given again.
     */
    public record Tagging(String version, String template, Optional<String> explicitTag, Set<String> used) {
        public Tagging {
            used = Set.copyOf(used);
        }

        public Tagging(String version, String template, Optional<String> explicitTag) {
            this(version, template, explicitTag, Set.of());
        }
    }

    /** The outcome: where the image is, under which tag, and what the push cost (referrers included). */
    public record Published(String repository, String reference, String tag, String digest, long bytesPushed, int blobsUploaded,
                            int blobsMounted, boolean alreadyPresent) {
    }

    /**
     * Makes the artifacts to attach to the image before it is tagged, once its tag is known (a signature
     * names the tag). Throwing stops the publication before anything is pushed.
     */
    @FunctionalInterface
    public interface Referrers {
        List<Manifest> make(String tag);

        Referrers NONE = tag -> List.of();
    }

    public Published publish(Manifest image, ImageTarget target, String repository, Tagging tagging) {
        return publish(image, target, repository, tagging, Referrers.NONE);
    }

    public Published publish(Manifest image, ImageTarget target, String repository, Tagging tagging, Referrers referrers) {
        String digest = image.digest();
        target.prepare(repository);
        String tag;
        if (tagging.explicitTag().isPresent()) {
            tag = tagging.explicitTag().get();
            Optional<String> existing = target.tagged(repository, tag);
            if (existing.isPresent()) {
                return sameOrCollision(target, repository, tag, existing.get(), digest, image, referrers);
            }
            if (tagging.used().contains(tag)) {
                throw new PublishException(target.reference(repository, tag) + " named another image before (since retired);"
                        + " a tag is never given to a second image");
            }
        } else {
            String prefix = tagging.template().replace("{version}", tagging.version())
                    .replace("{yyyymmdd}", LocalDate.now(clock.withZone(ZoneOffset.UTC)).format(DAY));
            tag = null;
            for (int n = 1; n <= MAX_BUILDS_PER_DAY && tag == null; n++) {
                String candidate = prefix.replace("{n}", Integer.toString(n));
                Optional<String> existing = target.tagged(repository, candidate);
                if (existing.isEmpty()) {
                    if (!tagging.used().contains(candidate)) {
                        tag = candidate;
                    }
                } else if (existing.get().equals(digest)) {
                    return sameOrCollision(target, repository, candidate, digest, digest, image, referrers);
                }
            }
            if (tag == null) {
                throw new PublishException(repository + ": " + MAX_BUILDS_PER_DAY + " tags for " + prefix + " already; none left today");
            }
        }
        List<Manifest> artifacts = referrers.make(tag);
        Optional<String> raced = target.tagged(repository, tag);
        if (raced.isPresent()) {
            return sameOrCollision(target, repository, tag, raced.get(), digest, image, tagged -> artifacts);
        }
        if (artifacts.isEmpty()) {
            ImageTarget.Pushed pushed = target.push(repository, image, List.of(tag));
            return new Published(repository, target.reference(repository, tag), tag, digest, pushed.bytesUploaded(), pushed.uploaded(),
                    pushed.mounted(), false);
        }
        ImageTarget.Pushed content = target.push(repository, image, List.of());
        long bytes = content.bytesUploaded() + attach(target, repository, artifacts);
        ImageTarget.Pushed named = target.tag(repository, image, tag);
        return new Published(repository, target.reference(repository, tag), tag, digest, bytes + named.bytesUploaded(), content.uploaded(),
                content.mounted(), false);
    }

    private static long attach(ImageTarget target, String repository, List<Manifest> artifacts) {
        return target.attach(repository, artifacts).stream().mapToLong(ImageTarget.Pushed::bytesUploaded).sum();
    }

    /**
     * The tag is taken: by this very image (published before; its new referrers are attached, so this build's
     * evidence is on the target too) or by another one, which is never overwritten.
     */
    private static Published sameOrCollision(ImageTarget target, String repository, String tag, String existing, String digest, Manifest image,
                                             Referrers referrers) {
        if (existing.equals(digest)) {
            long bytes = attach(target, repository, referrers.make(tag));
            return new Published(repository, target.reference(repository, tag), tag, digest, bytes, 0, 0, true);
        }
        throw new PublishException(target.reference(repository, tag) + " already exists with digest " + existing
                + "; this build is " + digest + " and tags are never overwritten");
    }
}
