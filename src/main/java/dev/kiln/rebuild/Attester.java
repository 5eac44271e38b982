package dev.kiln.rebuild;

import dev.kiln.history.History;
import dev.kiln.publish.Descriptor;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.PublishException;
import dev.kiln.sign.Claim;
import dev.kiln.sign.EvidenceVerifier;
import dev.kiln.sign.SignException;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The pipeline's evidence steps: sign a build's attestations and signature before its image is tagged,
 * and afterwards read everything back from the target and check it against the image digest and the
 * key before the build may count as approved. Without a key it does nothing and builds are recorded
 * unsigned; with one, any failure fails the build.
 */
public final class Attester {

    private final Signer signer;
    private final Attestations attestations;
    private final EvidenceVerifier verifier = new EvidenceVerifier();

    private Attester(Signer signer, Attestations attestations) {
        this.signer = signer;
        this.attestations = attestations;
    }

    /** Signs with {@code signer}, attesting what {@code attestations} makes of each build. */
    public static Attester signing(Signer signer, Attestations attestations) {
        return new Attester(signer, attestations);
    }

    /** No key configured: nothing is signed or attested. */
    public static Attester unsigned() {
        return new Attester(null, Attestations.NONE);
    }

    public Optional<SigningKey> key() {
        return Optional.ofNullable(signer).map(Signer::key);
    }

    /** Signs the build's attestations and its signature; nothing is pushed. A key that cannot sign fails the build here. */
    List<Signer.Signed> sign(Attestations.Facts facts, Descriptor image) {
        if (signer == null) {
            return List.of();
        }
        return signed(facts, image, attestations.claims(facts), Map.of());
    }

    /** One platform image of an index, with what its attestations are made from. */
    record Platform(String architecture, Attestations.Facts facts, Descriptor image) {
    }

    /**
     * Signs an image index and each platform image under it; nothing is pushed. Each platform image gets
     * its own signature, SBOMs, provenance and rebuild record (made from its own packages and files), so a
     * host that pulled one platform verifies what it runs; the index gets its signature and the
     * attestations {@link Attestations#indexClaims} makes of the whole build.
     */
    List<Signer.Signed> signIndex(Attestations.Facts index, Descriptor image, List<Platform> platforms) {
        if (signer == null) {
            return List.of();
        }
        List<Signer.Signed> out = new ArrayList<>();
        for (Platform p : platforms) {
            out.addAll(signed(p.facts(), p.image(), attestations.claims(p.facts()), Map.of(PLATFORM, p.architecture())));
        }
        out.addAll(signed(index, image, attestations.indexClaims(index), Map.of()));
        return out;
    }

    /** The signature statement's annotation naming the platform a platform image of an index is for. */
    static final String PLATFORM = "dev.kiln.platform";

    private List<Signer.Signed> signed(Attestations.Facts facts, Descriptor image, List<Claim> claims, Map<String, String> more) {
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put(Signer.STACK, facts.stack().name());
        annotations.put(Signer.BUILD, Long.toString(facts.build()));
        annotations.put(Signer.TAG, facts.tag());
        annotations.put(Signer.KILN_VERSION, facts.kilnVersion());
        annotations.putAll(more);
        try {
            return signer.sign(facts.subject(), image, claims, annotations);
        } catch (SignException e) {
            throw new BuildException("signing failed, nothing published: " + e.getMessage());
        }
    }

    /** Signs one more claim about a published image (a reproduction record). */
    Signer.Signed attest(String subject, Descriptor image, Claim claim) {
        return signer.attestation(subject, image, claim);
    }

    /**
     * The post-push check: the tag names the image, and the target holds a signature by the key and every
     * attestation this build attached, each about its image and unaltered. For an index that is the
     * index and every platform image the build signed. Returns what to record.
     */
    History.Signing check(ImageTarget target, String repository, String digest, String tag, List<Signer.Signed> attached) {
        SigningKey key = signer.key();
        List<String> problems = new ArrayList<>();
        // the images the build signed: the published one first, then each platform image of an index
        java.util.Set<String> subjects = new java.util.LinkedHashSet<>();
        subjects.add(digest);
        attached.forEach(s -> subjects.add(subjectOf(s, digest)));
        Map<String, EvidenceVerifier.Report> reports = new LinkedHashMap<>();
        try {
            Optional<String> named = target.tagged(repository, tag);
            if (named.isEmpty() || !named.get().equals(digest)) {
                problems.add(target.reference(repository, tag) + " names " + named.orElse("nothing") + ", not the image built (" + digest + ")");
            }
            for (String subject : subjects) {
                reports.put(subject, verifier.verify(target, repository, subject, key.publicKey()));
            }
        } catch (PublishException | SignException e) {
            throw new BuildException("reading the evidence back from " + target.name() + " failed: " + e.getMessage());
        }
        reports.forEach((subject, report) -> report.problems().forEach(p -> problems.add(subject.equals(digest) ? p
                : "platform image " + subject + ": " + p)));
        for (Signer.Signed s : attached) {
            String subject = subjectOf(s, digest);
            if (!reports.get(subject).bundleDigests().contains(s.bundleDigest())) {
                problems.add("the " + (s.claim().isSignature() ? "signature" : s.predicateType() + " attestation") + " this build attached ("
                        + s.bundleDigest() + ")" + (subject.equals(digest) ? "" : " to platform image " + subject)
                        + " is not on the target as attached");
            }
        }
        if (!problems.isEmpty()) {
            throw new BuildException("evidence check failed after the push, not approved: " + String.join("; ", problems));
        }
        return new History.Signing(key.id(), attached.stream().map(s -> {
            String subject = subjectOf(s, digest);
            return new History.Evidence(s.predicateType(), s.claim().cosignType(), s.artifact().digest(), s.bundleDigest(), s.predicateDigest(),
                    key.id(), s.bundle(), subject.equals(digest) ? null : subject);
        }).toList());
    }

    /** The image a signed artifact is about (its OCI subject). */
    private static String subjectOf(Signer.Signed s, String otherwise) {
        return s.artifact().subject() == null ? otherwise : s.artifact().subject().digest();
    }
}
