package dev.kiln.ecr;

import dev.kiln.publish.BlobLocations;
import dev.kiln.publish.Descriptor;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.Manifest;
import dev.kiln.publish.PublishException;
import dev.kiln.publish.RegistryTarget;
import dev.kiln.publish.Target;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Amazon ECR as an image target. The registry protocol (pushes, reads, referrers) is the OCI registry
 * adapter's, logged in with ECR's own token; everything only ECR has stays here: repositories created
 * as the settings say (immutable tags, scan on push, KMS, resource tags), the push confirmed with
 * DescribeImages, push and pull times for retention, deletes in batches through BatchDeleteImage, and
 * the scan gate that holds an image back.
 */
public final class EcrTarget implements ImageTarget {

    private final Ecr api;
    private final String namespace;
    private final Set<String> insecureRegistries;
    private final BlobLocations locations;
    private final String gateSeverity;
    private final Duration scanTimeout;
    private volatile RegistryTarget registry;

    /**
     * @param gateSeverity findings at or above this severity hold an image back (null: no gate)
     */
    public EcrTarget(Ecr api, Target.Ecr target, Set<String> insecureRegistries, BlobLocations locations, String gateSeverity,
                     Duration scanTimeout) {
        this.api = api;
        this.namespace = target.namespace();
        this.insecureRegistries = Set.copyOf(insecureRegistries);
        this.locations = locations;
        this.gateSeverity = gateSeverity;
        this.scanTimeout = scanTimeout;
    }

    private RegistryTarget registry() {
        RegistryTarget current = registry;
        if (current == null) {
            String host = api.registry();
            Target.Registry address = new Target.Registry(host, namespace);
            current = new RegistryTarget("ecr:" + address, host, namespace, address.loopback() || insecureRegistries.contains(host), api,
                    locations);
            registry = current;
        }
        return current;
    }

    @Override
    public String name() {
        return registry().name();
    }

    @Override
    public String repository(String stackRepository) {
        return Target.repository(namespace, stackRepository);
    }

    @Override
    public String reference(String repository, String tag) {
        return registry().reference(repository, tag);
    }

    @Override
    public Optional<String> pullReference(String repository, String digest) {
        return registry().pullReference(repository, digest);
    }

    @Override
    public void prepare(String repository) {
        api.ensureRepository(repository);
    }

    @Override
    public Optional<String> tagged(String repository, String tag) {
        return registry().tagged(repository, tag);
    }

    /** Pushes through the registry protocol, then asks ECR itself whether each tag names the digest. */
    @Override
    public Pushed push(String repository, Manifest manifest, List<String> tags) {
        Pushed pushed;
        try {
            pushed = registry().push(repository, manifest, tags);
        } catch (PublishException e) {
            throw new PublishException(Ecr.refusal(e.getMessage()), e);
        }
        for (String tag : tags) {
            api.confirm(repository, tag, manifest.digest());
        }
        return pushed;
    }

    @Override
    public Pushed tag(String repository, Manifest manifest, String tag) {
        Pushed pushed;
        try {
            pushed = registry().tag(repository, manifest, tag);
        } catch (PublishException e) {
            throw new PublishException(Ecr.refusal(e.getMessage()), e);
        }
        api.confirm(repository, tag, manifest.digest());
        return pushed;
    }

    @Override
    public Optional<Manifest> manifest(String repository, String reference) {
        return registry().manifest(repository, reference);
    }

    @Override
    public InputStream blob(String repository, String digest, long maxBytes) {
        return registry().blob(repository, digest, maxBytes);
    }

    @Override
    public List<Pushed> attach(String repository, List<Manifest> artifacts) {
        return registry().attach(repository, artifacts);
    }

    @Override
    public List<Descriptor> referrers(String repository, String digest) {
        return registry().referrers(repository, digest);
    }

    @Override
    public List<Listed> images(String repository) {
        List<Listed> out = new ArrayList<>();
        for (Ecr.Image image : api.images(repository)) {
            List<String> tags = image.tags().stream().filter(t -> !t.startsWith("sha256-")).toList();
            if (!tags.isEmpty()) {
                out.add(new Listed(image.digest(), tags, Optional.ofNullable(image.pushedAt()), image.lastPulled()));
            }
        }
        return out;
    }

    @Override
    public boolean pullTimesKnown() {
        return true;
    }

    /**
     * Deletes the images with everything that refers to them (signatures, attestations, recursively) and
     * their referrers' fallback indexes, all by digest through BatchDeleteImage. An image index takes with
     * it those of its platform images no other tagged image of the repository lists, after it: ECR
     * refuses to delete an image an index still names. The referrers and platform images are found
     * through ECR's own API (manifests read with BatchGetImage), so retirement needs nothing but the ECR API.
     */
    @Override
    public Map<String, String> delete(String repository, List<String> digests) {
        Set<String> doomed = new LinkedHashSet<>(digests);
        List<Ecr.Image> all = api.images(repository);
        // platform images of the indexes being deleted, unless a tagged image staying names them too
        Set<String> kept = new LinkedHashSet<>();
        List<String> staying = all.stream().filter(i -> !doomed.contains(i.digest()))
                .filter(i -> i.tags().stream().anyMatch(t -> !t.startsWith("sha256-"))).map(Ecr.Image::digest).toList();
        api.manifests(repository, staying).values().forEach(json -> kept.addAll(children(json)));
        Map<String, String> indexOf = new LinkedHashMap<>();
        api.manifests(repository, List.copyOf(doomed)).forEach((index, json) -> children(json).stream()
                .filter(c -> !kept.contains(c) && !doomed.contains(c)).forEach(c -> indexOf.putIfAbsent(c, index)));
        Set<String> platforms = indexOf.keySet();
        doomed.addAll(platforms);
        List<String> candidates = all.stream()
                .filter(i -> i.tags().isEmpty() || i.tags().stream().allMatch(t -> t.startsWith("sha256-")))
                .map(Ecr.Image::digest).filter(d -> !doomed.contains(d)).toList();
        Map<String, String> subjects = new LinkedHashMap<>();
        api.manifests(repository, candidates).forEach((digest, json) -> subject(json).ifPresent(s -> subjects.put(digest, s)));
        Map<String, String> fallbackOf = new LinkedHashMap<>();
        all.forEach(i -> i.tags().stream().filter(t -> t.startsWith("sha256-")).forEach(t -> fallbackOf.put(i.digest(), "sha256:" + t.substring(7))));
        boolean grew = true;
        while (grew) {
            grew = false;
            for (String candidate : candidates) {
                boolean refers = doomed.contains(subjects.get(candidate)) || doomed.contains(fallbackOf.get(candidate));
                if (refers && doomed.add(candidate)) {
                    grew = true;
                }
            }
        }
        List<String> first = doomed.stream().filter(d -> !platforms.contains(d)).toList();
        Map<String, String> refused = new LinkedHashMap<>(api.delete(repository, first));
        if (!platforms.isEmpty()) {
            refused.putAll(api.delete(repository, List.copyOf(platforms)));
        }
        Map<String, String> failures = new LinkedHashMap<>();
        refused.forEach((d, why) -> {
            if (platforms.contains(d)) {
                // the index is gone, but not all of it: retirement tries again
                failures.merge(indexOf.get(d), "its platform image " + d + ": " + why, (a, b) -> a + "; " + b);
            } else {
                failures.put(d, digests.contains(d) ? why : "a referrer of an image being deleted: " + why);
            }
        });
        return failures;
    }

    /** The platform images an image index lists; none for any other manifest. */
    private static List<String> children(String manifest) {
        try {
            return Manifest.read(null, manifest.getBytes(java.nio.charset.StandardCharsets.UTF_8), null).children();
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    private static Optional<String> subject(String manifest) {
        try {
            tools.jackson.databind.JsonNode subject = tools.jackson.databind.json.JsonMapper.builder().build().readTree(manifest).path("subject");
            return subject.hasNonNull("digest") ? Optional.of(subject.get("digest").asString()) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public Optional<Protection> protection(String repository) {
        return Optional.of(api.protection(repository));
    }

    /**
     * The scan gate: waits for ECR's scan; findings at or above the configured severity hold the image back.
     * ECR scans image manifests, not an index: of an index each platform image is scanned and gated, and
     * one over the gate holds the whole index back. The evidence keeps one image's keys (status,
     * severities, findings, gate) with every platform's findings counted, plus each platform's own scan
     * under {@code platforms}.
     */
    @Override
    public Optional<Review> review(String repository, Manifest image) {
        if (gateSeverity == null) {
            return Optional.empty();
        }
        if (!Manifest.OCI_INDEX.equals(image.mediaType())) {
            Ecr.Scan scan = api.scan(repository, image.digest(), scanTimeout);
            int blocking = scan.atOrAbove(gateSeverity);
            Map<String, Object> evidence = new LinkedHashMap<>();
            evidence.put("status", scan.status());
            evidence.put("severities", scan.severities());
            evidence.put("findings", scan.findings());
            evidence.put("gate", gateSeverity);
            return Optional.of(new Review(blocking > 0, "the ECR scan gate: " + blocking + " finding(s) at or above " + gateSeverity + " "
                    + scan.severities(), evidence));
        }
        String status = "COMPLETE";
        Map<String, Integer> severities = new java.util.TreeMap<>();
        List<String> findings = new ArrayList<>();
        List<Map<String, Object>> platforms = new ArrayList<>();
        List<String> over = new ArrayList<>();
        List<String> each = new ArrayList<>();
        for (Descriptor child : image.references()) {
            String platform = child.platform() == null ? child.digest() : child.platform().name();
            Ecr.Scan scan = api.scan(repository, child.digest(), scanTimeout);
            int blocking = scan.atOrAbove(gateSeverity);
            if ("COMPLETE".equals(status) && !"COMPLETE".equals(scan.status())) {
                status = scan.status();
            }
            scan.severities().forEach((severity, n) -> severities.merge(severity, n, Integer::sum));
            scan.findings().forEach(f -> findings.add(platform + ": " + f));
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("platform", platform);
            one.put("digest", child.digest());
            one.put("status", scan.status());
            one.put("severities", scan.severities());
            one.put("findings", scan.findings());
            one.put("atOrAboveGate", blocking);
            platforms.add(one);
            each.add(platform + " " + scan.severities());
            if (blocking > 0) {
                over.add(platform + ": " + blocking + " finding(s) at or above " + gateSeverity + " " + scan.severities());
            }
        }
        Map<String, Object> evidence = new LinkedHashMap<>();
        evidence.put("status", status);
        evidence.put("severities", severities);
        evidence.put("findings", findings);
        evidence.put("gate", gateSeverity);
        evidence.put("platforms", platforms);
        return Optional.of(new Review(!over.isEmpty(), "the ECR scan gate: " + (over.isEmpty()
                ? "no platform image has findings at or above " + gateSeverity + " (" + String.join(", ", each) + ")"
                : String.join("; ", over)), evidence));
    }
}
