package dev.kiln.publish;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * An OCI content descriptor (image-spec {@code descriptor.md}): what a manifest or an index points at.
 * {@code artifactType} and {@code platform} are set only where the spec uses them (an index entry, a
 * referrer).
 */
public record Descriptor(String mediaType, String digest, long size, Map<String, String> annotations, String artifactType,
                         Platform platform) {

    public Descriptor {
        Digests.check(digest);
        // sorted: the order of annotations is part of a manifest's bytes, hence of its digest
        annotations = annotations == null ? Map.of() : Collections.unmodifiableSortedMap(new TreeMap<>(annotations));
    }

    public static Descriptor of(String mediaType, String digest, long size) {
        return new Descriptor(mediaType, digest, size, Map.of(), null, null);
    }

    /** An image's platform, as an index lists it. */
    public record Platform(String os, String architecture, String variant) {
        public static Platform linux(String architecture) {
            return new Platform("linux", architecture, null);
        }

        /** As docker's {@code --platform} names it: {@code linux/arm64}, {@code linux/arm/v7}. */
        public String name() {
            return os + "/" + architecture + (variant == null ? "" : "/" + variant);
        }
    }

    public Descriptor withPlatform(Platform value) {
        return new Descriptor(mediaType, digest, size, annotations, artifactType, value);
    }

    public Descriptor withAnnotations(Map<String, String> value) {
        return new Descriptor(mediaType, digest, size, value, artifactType, platform);
    }

    public Descriptor withArtifactType(String value) {
        return new Descriptor(mediaType, digest, size, annotations, value, platform);
    }

    /** The digest's hex part, as blob files and cosign's fallback tags name it. */
    public String hex() {
        return digest.substring("sha256:".length());
    }

    ObjectNode toJson() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("mediaType", mediaType);
        node.put("digest", digest);
        node.put("size", size);
        if (artifactType != null) {
            node.put("artifactType", artifactType);
        }
        if (platform != null) {
            ObjectNode p = node.putObject("platform");
            p.put("architecture", platform.architecture());
            p.put("os", platform.os());
            if (platform.variant() != null) {
                p.put("variant", platform.variant());
            }
        }
        if (!annotations.isEmpty()) {
            ObjectNode a = node.putObject("annotations");
            annotations.forEach(a::put);
        }
        return node;
    }

    static Descriptor fromJson(JsonNode node) {
        Map<String, String> annotations = new TreeMap<>();
        node.path("annotations").properties().forEach(e -> annotations.put(e.getKey(), e.getValue().asString()));
        JsonNode p = node.get("platform");
        Platform platform = p == null ? null
                : new Platform(p.path("os").asString(), p.path("architecture").asString(), p.hasNonNull("variant") ? p.get("variant").asString() : null);
        return new Descriptor(node.path("mediaType").asString(), node.path("digest").asString(), node.path("size").asLong(), annotations,
                node.hasNonNull("artifactType") ? node.get("artifactType").asString() : null, platform);
    }
}
