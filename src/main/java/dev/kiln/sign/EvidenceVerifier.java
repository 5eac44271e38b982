package dev.kiln.sign;

import dev.kiln.publish.Descriptor;
import dev.kiln.publish.Digests;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.Manifest;
import dev.kiln.publish.PublishException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Reads an image's signature and attestations back from a target and checks them against its digest
 * and a public key, as cosign does and then some: every Sigstore bundle among the image's referrers is
 * opened; one signed by the key must be a signature about this digest; every attestation that signature
 * lists must be there, signed by the key and about this digest. A bundle that names the key but does
 * not verify, or verifies but is about another image, is altered evidence. Bundles of other keys
 * (someone else's co-signature) are noted and otherwise left alone.
 * <p>
 * Everything read is bounded (manifests by the target, bundles here) and hashed before it is parsed.
 */
public final class EvidenceVerifier {

    private static final ExecutorService READS = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "kiln-evidence-read");
        t.setDaemon(true);
        return t;
    });

    /** An SBOM with every file of a large image stays well under this. */
    static final long MAX_BUNDLE = 64L << 20;

    /** A bundle that verified: what it claims and where it was found. */
    public record Found(String predicateType, String artifactDigest, String bundleDigest, SigstoreBundle.Statement statement) {
    }

    /**
     * The outcome for one image: the signature(s) and attestations that verified, what is wrong (empty:
     * verified), and what was noticed but is no fault of the image (bundles of other keys).
     */
    public record Report(String digest, String keyId, List<Found> signatures, List<Found> attestations, List<String> problems,
                         List<String> notes) {
        public Report {
            signatures = List.copyOf(signatures);
            attestations = List.copyOf(attestations);
            problems = List.copyOf(problems);
            notes = List.copyOf(notes);
        }

        public boolean verified() {
            return problems.isEmpty();
        }

        /** The bundle digests that verified, signature and attestations. */
        public List<String> bundleDigests() {
            List<String> out = new ArrayList<>();
            signatures.forEach(f -> out.add(f.bundleDigest()));
            attestations.forEach(f -> out.add(f.bundleDigest()));
            return out;
        }
    }

    public Report verify(ImageTarget target, String repository, String digest, PublicKey key) {
        Digests.check(digest);
        String hint = SigstoreBundle.hint(key);
        List<Found> signatures = new ArrayList<>();
        List<Found> attestations = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<Descriptor> referrers;
        try {
            referrers = target.referrers(repository, digest);
        } catch (PublishException e) {
            return new Report(digest, Keys.id(key), List.of(), List.of(), List.of("cannot list the referrers of " + digest + ": " + e.getMessage()),
                    List.of());
        }
        // the referrers are independent round trips (manifest, then bundle): read side by side
        List<Future<Examined>> pending = new ArrayList<>();
        for (Descriptor referrer : referrers) {
            if (referrer.artifactType() == null || referrer.artifactType().startsWith("application/vnd.dev.sigstore.bundle")) {
                pending.add(READS.submit(() -> examine(target, repository, digest, key, hint, referrer)));
            }
        }
        for (Future<Examined> f : pending) {
            Examined e;
            try {
                e = f.get();
            } catch (ExecutionException x) {
                problems.add(x.getCause().getMessage());
                continue;
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                throw new SignException("interrupted reading the evidence of " + digest, x);
            }
            if (e.problem() != null) {
                problems.add(e.problem());
            } else if (e.note() != null) {
                notes.add(e.note());
            } else if (e.found() != null) {
                (e.found().predicateType().equals(Claim.COSIGN_SIGN) ? signatures : attestations).add(e.found());
            }
        }
        if (signatures.isEmpty()) {
            problems.add(0, "no signature of " + digest + " by key " + Keys.id(key));
        }
        Map<String, String> listed = new LinkedHashMap<>();
        for (Found s : signatures) {
            for (String entry : s.statement().annotations().getOrDefault(Signer.ATTESTATIONS, "").split(" ")) {
                int at = entry.lastIndexOf('@');
                if (at > 0) {
                    listed.put(entry.substring(at + 1), entry.substring(0, at));
                }
            }
        }
        listed.forEach((bundleDigest, type) -> {
            if (attestations.stream().noneMatch(a -> a.bundleDigest().equals(bundleDigest))) {
                problems.add("the signature lists a " + type + " attestation " + bundleDigest + "; it is missing or does not verify");
            }
        });
        return new Report(digest, Keys.id(key), signatures, attestations, problems, notes);
    }

    /** One referrer: a verified bundle, a problem (altered or misplaced evidence), a note (not ours, gone) or nothing. */
    private record Examined(Found found, String problem, String note) {
        static Examined problem(String text) {
            return new Examined(null, text, null);
        }

        static Examined note(String text) {
            return new Examined(null, null, text);
        }
    }

    private static Examined examine(ImageTarget target, String repository, String digest, PublicKey key, String hint, Descriptor referrer) {
        Optional<Manifest> artifact = target.manifest(repository, referrer.digest());
        if (artifact.isEmpty()) {
            return Examined.note("referrer " + referrer.digest() + " is listed but gone from the target");
        }
        Manifest m = artifact.get();
        if (m.subject() == null || !digest.equals(m.subject().digest())) {
            return Examined.problem("artifact " + m.digest() + " is listed as a referrer of " + digest + " but refers to "
                    + (m.subject() == null ? "nothing" : m.subject().digest()));
        }
        List<Descriptor> bundles = m.references().stream().filter(d -> d.mediaType().startsWith("application/vnd.dev.sigstore.bundle")).toList();
        if (bundles.size() != 1) {
            return Examined.note("artifact " + m.digest() + " holds " + bundles.size() + " Sigstore bundles; not cosign's form, ignored");
        }
        Descriptor layer = bundles.get(0);
        String annotated = m.descriptor().annotations().getOrDefault(Signer.PREDICATE_TYPE, "");
        byte[] bundle;
        try {
            bundle = read(target, repository, layer);
        } catch (SignException | PublishException e) {
            return Examined.problem("artifact " + m.digest() + (annotated.isEmpty() ? "" : " (" + annotated + ")") + ": " + e.getMessage());
        }
        SigstoreBundle.Statement statement;
        try {
            statement = SigstoreBundle.open(bundle, key);
        } catch (SignException e) {
            return hint.equals(SigstoreBundle.hint(bundle))
                    ? Examined.problem(label(annotated) + " " + layer.digest() + " names key " + Keys.id(key) + " but is altered: " + e.getMessage())
                    : Examined.note(label(annotated) + " " + layer.digest() + " is not signed by key " + Keys.id(key) + " (" + e.getMessage()
                    + "); ignored");
        }
        if (!statement.subjects().contains(digest)) {
            return Examined.problem(label(statement.predicateType()) + " " + layer.digest() + " is signed by the key but is about "
                    + String.join(", ", statement.subjects()) + ", not " + digest);
        }
        if (!annotated.isEmpty() && !annotated.equals(statement.predicateType())) {
            return Examined.problem("artifact " + m.digest() + " is annotated as " + annotated + " but its signed statement is "
                    + statement.predicateType());
        }
        return new Examined(new Found(statement.predicateType(), m.digest(), layer.digest(), statement), null, null);
    }

    private static String label(String predicateType) {
        return predicateType.equals(Claim.COSIGN_SIGN) ? "signature" : predicateType.isEmpty() ? "bundle" : predicateType + " attestation";
    }

    private static byte[] read(ImageTarget target, String repository, Descriptor layer) {
        if (layer.size() > MAX_BUNDLE) {
            throw new SignException("bundle " + layer.digest() + " is " + layer.size() + " bytes; more than " + MAX_BUNDLE);
        }
        try (InputStream in = target.blob(repository, layer.digest(), MAX_BUNDLE)) {
            byte[] bytes = in.readNBytes((int) MAX_BUNDLE + 1);
            if (!Digests.sha256(bytes).equals(layer.digest())) {
                throw new SignException("bundle " + layer.digest() + ": the bytes served hash to " + Digests.sha256(bytes));
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
