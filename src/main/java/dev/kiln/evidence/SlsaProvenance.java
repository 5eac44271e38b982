package dev.kiln.evidence;

import dev.kiln.debian.Lock;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SLSA Provenance v1 predicate of a build (https://slsa.dev/spec/v1.0/provenance): Kiln's build type,
 * the parameters a platform team controls (stack, its digest, the catalog commit), every input resolved
 * from them (each .deb by URL and SHA-256, each signed InRelease by URL, SHA-256 and Date, Kiln itself)
 * and who ran it when. The build type's parameters are documented in docs/evidence.md.
 */
final class SlsaProvenance {

    static final String PREDICATE_TYPE = "https://slsa.dev/provenance/v1";
    /** Names docs/evidence.md's "Build type" section, which defines the fields below. */
    static final String BUILD_TYPE = "https://kiln.dev/build-type/debian-image/v1";
    static final String BUILDER_PREFIX = "https://kiln.dev/builder/";

    record Provenance(BuildDefinition buildDefinition, RunDetails runDetails) {
    }

    record BuildDefinition(String buildType, Map<String, Object> externalParameters, Map<String, Object> internalParameters,
                           List<ResourceDescriptor> resolvedDependencies) {
    }

    record ResourceDescriptor(String uri, Map<String, String> digest, String name, Map<String, Object> annotations) {
    }

    record RunDetails(Builder builder, BuildMetadata metadata) {
    }

    record Builder(String id, Map<String, String> version) {
    }

    record BuildMetadata(String invocationId, String startedOn, String finishedOn) {
    }

    private SlsaProvenance() {
    }

    static byte[] write(BuildFacts facts) {
        Map<String, Object> external = new LinkedHashMap<>();
        external.put("stack", facts.stackName());
        external.put("stackDigest", facts.lock().stackDigest());
        if (facts.catalogCommit() != null) {
            external.put("catalogCommit", facts.catalogCommit());
        }
        if (facts.catalogSource() != null) {
            external.put("catalogSource", facts.catalogSource());
        }
        external.put("repository", facts.repository());
        if (facts.tag() != null) {
            external.put("tag", facts.tag());
        }
        Map<String, Object> internal = new LinkedHashMap<>();
        internal.put("lockDigest", facts.lock().digest());
        if (facts.lock().multiArchitecture()) {
            // an image index: every platform's packages (each .deb once), see docs/multi-architecture.md
            internal.put("architectures", facts.lock().builtFor());
        } else {
            internal.put("architecture", facts.lock().architecture());
        }
        if (facts.buildSettings() != null) {
            internal.put("settings", facts.buildSettings());
        }

        List<ResourceDescriptor> dependencies = new ArrayList<>();
        for (Lock.Release r : facts.lock().releases()) {
            Map<String, Object> about = new LinkedHashMap<>();
            about.put("suite", r.suite());
            about.put("codename", r.codename());
            about.put("version", r.version());
            about.put("origin", r.origin());
            about.put("date", r.date());
            about.put("validUntil", r.validUntil());
            dependencies.add(new ResourceDescriptor(r.inReleaseUrl(), r.inReleaseSha256() == null ? null : Map.of("sha256", r.inReleaseSha256()),
                    "InRelease " + r.suite(), about));
        }
        for (Lock.Package p : facts.lock().allPackages()) {
            Map<String, Object> about = new LinkedHashMap<>();
            about.put("version", p.version());
            about.put("architecture", p.architecture());
            about.put("suite", p.suite());
            about.put("size", p.size());
            dependencies.add(new ResourceDescriptor(p.url(), Map.of("sha256", p.sha256()), p.name(), about));
        }
        dependencies.add(new ResourceDescriptor("pkg:maven/dev.kiln/kiln@" + URLEncoder.encode(facts.kilnVersion(), StandardCharsets.UTF_8),
                null, "kiln", Map.of("version", facts.kilnVersion())));

        Provenance provenance = new Provenance(
                new BuildDefinition(BUILD_TYPE, external, internal, dependencies),
                new RunDetails(new Builder(builderId(facts.instance()), Map.of("kiln", facts.kilnVersion())),
                        new BuildMetadata(invocationId(facts.buildId()), facts.started().truncatedTo(ChronoUnit.MILLIS).toString(),
                                facts.finished().truncatedTo(ChronoUnit.MILLIS).toString())));
        return Json.write(provenance);
    }

    /** The Kiln instance as a URI: {@code https://kiln.dev/builder/INSTANCE}. Policies match the prefix to accept any instance. */
    static String builderId(String instance) {
        return BUILDER_PREFIX + URLEncoder.encode(instance, StandardCharsets.UTF_8);
    }

    /** The build's path in Kiln's API, where its record, steps and evidence are. */
    static String invocationId(long buildId) {
        return "/api/builds/" + buildId;
    }
}
