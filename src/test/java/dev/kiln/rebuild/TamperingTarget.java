package dev.kiln.rebuild;

import dev.kiln.publish.Descriptor;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.Manifest;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A real target with a moment picked for an attacker: right after Kiln tags an image (its evidence is
 * attached by then) and before Kiln reads everything back, {@code next} runs once against the real
 * registry (re-point the tag, delete the signature ...). Only the timing is the test's; what it does to
 * the registry is real.
 */
final class TamperingTarget implements ImageTarget {

    /** What an attacker does to the registry, given the repository, the tag just pushed and the digest it names. */
    interface Tamper {
        void accept(String repository, String tag, String digest);
    }

    private final ImageTarget target;
    private volatile Tamper next;
    private volatile String lastTag;
    private volatile String lastDigest;

    TamperingTarget(ImageTarget target) {
        this.target = target;
    }

    /** Runs {@code tamper} after the next tag push. */
    void afterNextTag(Tamper tamper) {
        this.next = tamper;
    }

    /** The tag and digest of the last tag push. */
    String lastTag() {
        return lastTag;
    }

    String lastDigest() {
        return lastDigest;
    }

    @Override
    public Pushed tag(String repository, Manifest manifest, String tag) {
        Pushed pushed = target.tag(repository, manifest, tag);
        lastTag = tag;
        lastDigest = manifest.digest();
        Tamper tamper = next;
        next = null;
        if (tamper != null) {
            tamper.accept(repository, tag, manifest.digest());
        }
        return pushed;
    }

    @Override
    public String name() {
        return target.name();
    }

    @Override
    public String repository(String stackRepository) {
        return target.repository(stackRepository);
    }

    @Override
    public String reference(String repository, String tag) {
        return target.reference(repository, tag);
    }

    @Override
    public Optional<String> pullReference(String repository, String digest) {
        return target.pullReference(repository, digest);
    }

    @Override
    public void prepare(String repository) {
        target.prepare(repository);
    }

    @Override
    public Optional<String> tagged(String repository, String tag) {
        return target.tagged(repository, tag);
    }

    @Override
    public Pushed push(String repository, Manifest manifest, List<String> tags) {
        return target.push(repository, manifest, tags);
    }

    @Override
    public Optional<Manifest> manifest(String repository, String reference) {
        return target.manifest(repository, reference);
    }

    @Override
    public InputStream blob(String repository, String digest, long maxBytes) {
        return target.blob(repository, digest, maxBytes);
    }

    @Override
    public List<Pushed> attach(String repository, List<Manifest> artifacts) {
        return target.attach(repository, artifacts);
    }

    @Override
    public List<Descriptor> referrers(String repository, String digest) {
        return target.referrers(repository, digest);
    }

    @Override
    public List<Listed> images(String repository) {
        return target.images(repository);
    }

    @Override
    public boolean pullTimesKnown() {
        return target.pullTimesKnown();
    }

    @Override
    public Map<String, String> delete(String repository, List<String> digests) {
        return target.delete(repository, digests);
    }

    @Override
    public Optional<Review> review(String repository, Manifest image) {
        return target.review(repository, image);
    }
}
