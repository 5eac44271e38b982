package dev.kiln.publish;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A manifest with everything it references, assembled once into exact bytes so its digest is known
 * before any push: an image manifest (config and layers), an image index (platform manifests), or an
 * artifact manifest that refers to another manifest through {@code subject} (a signature, an
 * attestation). Every target copies the same bytes; nothing is re-serialised on the way.
 *
 * @param blobs     the config and layers (or an artifact's payload), in the manifest's order
 * @param manifests an index's child manifests, pushed by digest before the index
 * @param subject   the manifest an artifact refers to, or null
 */
public record Manifest(Descriptor descriptor, byte[] bytes, List<Blob> blobs, List<Manifest> manifests, Descriptor subject) {

    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    /** The empty JSON object OCI 1.1 artifacts use as config ({@code {}}). */
    public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    public Manifest {
        bytes = bytes.clone();
        blobs = List.copyOf(blobs);
        manifests = List.copyOf(manifests);
    }

    public String digest() {
        return descriptor.digest();
    }

    /** Refuses an artifact that refers to no subject: what {@link ImageTarget#attach} takes must refer to an image. */
    public void requireSubject() {
        if (subject == null) {
            throw new IllegalArgumentException("attach: " + digest() + " has no subject");
        }
    }

    public String mediaType() {
        return descriptor.mediaType();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** An image manifest over {@code config} and {@code layers}. */
    public static Manifest image(Blob config, List<Blob> layers, Map<String, String> annotations) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("schemaVersion", 2);
        root.put("mediaType", OCI_MANIFEST);
        root.set("config", config.descriptor().toJson());
        ArrayNode array = root.putArray("layers");
        layers.forEach(l -> array.add(l.descriptor().toJson()));
        putAnnotations(root, annotations);
        List<Blob> all = new ArrayList<>();
        all.add(config);
        all.addAll(layers);
        return seal(root, OCI_MANIFEST, null, all, List.of(), null);
    }

    /** An image index over platform manifests (each descriptor carries its platform). */
    public static Manifest index(List<Manifest> platforms, List<Descriptor.Platform> platformOf, Map<String, String> annotations) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("schemaVersion", 2);
        root.put("mediaType", OCI_INDEX);
        ArrayNode array = root.putArray("manifests");
        for (int i = 0; i < platforms.size(); i++) {
            array.add(platforms.get(i).descriptor().withPlatform(platformOf.get(i)).toJson());
        }
        putAnnotations(root, annotations);
        return seal(root, OCI_INDEX, null, List.of(), platforms, null);
    }

    /**
     * An OCI 1.1 artifact manifest that refers to {@code subject}: the empty config, {@code layers} as its
     * payload, {@code artifactType} naming what it is (a Sigstore bundle, say).
     */
    public static Manifest artifact(String artifactType, List<Blob> layers, Descriptor subject, Map<String, String> annotations) {
        Blob empty = Blob.of(OCI_EMPTY, "{}".getBytes(StandardCharsets.UTF_8));
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("schemaVersion", 2);
        root.put("mediaType", OCI_MANIFEST);
        root.put("artifactType", artifactType);
        root.set("config", empty.descriptor().toJson());
        ArrayNode array = root.putArray("layers");
        layers.forEach(l -> array.add(l.descriptor().toJson()));
        Descriptor subjectRef = Descriptor.of(subject.mediaType(), subject.digest(), subject.size());
        root.set("subject", subjectRef.toJson());
        putAnnotations(root, annotations);
        List<Blob> all = new ArrayList<>();
        all.add(empty);
        all.addAll(layers);
        return seal(root, OCI_MANIFEST, artifactType, all, List.of(), subjectRef);
    }

    /**
     * A manifest read back from a target: its bytes as served (the digest is checked against them), the
     * descriptors it references (for an index, its child manifests' descriptors are in {@link #references}).
     */
    public static Manifest read(String mediaType, byte[] bytes, String expectedDigest) {
        String digest = Digests.sha256(bytes);
        if (expectedDigest != null && !expectedDigest.equals(digest)) {
            throw new PublishException("manifest " + expectedDigest + ": the bytes served hash to " + digest);
        }
        JsonNode root = JSON.readTree(bytes);
        String type = root.hasNonNull("mediaType") ? root.get("mediaType").asString() : mediaType;
        Descriptor subject = root.hasNonNull("subject") ? Descriptor.fromJson(root.get("subject")) : null;
        String artifactType = root.hasNonNull("artifactType") ? root.get("artifactType").asString() : null;
        Descriptor descriptor = new Descriptor(type, digest, bytes.length, annotations(root), artifactType, null);
        return new Manifest(descriptor, bytes, List.of(), List.of(), subject);
    }

    /** The descriptors this manifest's JSON points at: config and layers, or an index's manifests. */
    public List<Descriptor> references() {
        JsonNode root = JSON.readTree(bytes);
        List<Descriptor> out = new ArrayList<>();
        if (root.hasNonNull("config")) {
            out.add(Descriptor.fromJson(root.get("config")));
        }
        root.path("layers").forEach(l -> out.add(Descriptor.fromJson(l)));
        root.path("manifests").forEach(m -> out.add(Descriptor.fromJson(m)));
        return out;
    }

    /** The manifest's JSON as a tree (to read its config digest, layers, annotations). */
    public JsonNode json() {
        return JSON.readTree(bytes);
    }

    private static Map<String, String> annotations(JsonNode root) {
        Map<String, String> out = new LinkedHashMap<>();
        root.path("annotations").properties().forEach(e -> out.put(e.getKey(), e.getValue().asString()));
        return out;
    }

    private static void putAnnotations(ObjectNode root, Map<String, String> annotations) {
        if (annotations != null && !annotations.isEmpty()) {
            ObjectNode a = root.putObject("annotations");
            new java.util.TreeMap<>(annotations).forEach(a::put);
        }
    }

    private static Manifest seal(ObjectNode root, String mediaType, String artifactType, List<Blob> blobs, List<Manifest> manifests,
                                 Descriptor subject) {
        byte[] bytes = JSON.writeValueAsBytes(root);
        Descriptor descriptor = new Descriptor(mediaType, Digests.sha256(bytes), bytes.length, annotations(root), artifactType, null);
        return new Manifest(descriptor, bytes, blobs, manifests, subject);
    }
}
