package dev.kiln.publish;

import dev.kiln.image.Composition;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Assembles a composition into an OCI image once: the config and manifest written as exact bytes over
 * the composed layers (files in the layer cache, never copied or compressed again), so the image's
 * digest is known before any target is touched and every target receives the same bytes.
 */
public final class ImageAssembler {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ImageAssembler() {
    }

    public static Manifest assemble(Composition composition, ImageConfig config) {
        List<Blob> layers = new ArrayList<>();
        for (Composition.Layer layer : composition.layers()) {
            layers.add(Blob.file(Manifest.OCI_LAYER_GZIP, layer.digest(), layer.size(), layer.file()));
        }
        Blob configBlob = Blob.of(Manifest.OCI_CONFIG, JSON.writeValueAsBytes(config(composition, config)));
        return Manifest.image(configBlob, layers, config.annotations());
    }

    /** The image config (image-spec config.md): fields in a fixed order, maps sorted. */
    static ObjectNode config(Composition composition, ImageConfig spec) {
        String created = composition.created().toString();
        ObjectNode root = JSON.createObjectNode();
        root.put("created", created);
        root.put("architecture", spec.architecture());
        if (spec.variant() != null) {
            root.put("variant", spec.variant());
        }
        root.put("os", "linux");
        ObjectNode run = root.putObject("config");
        run.put("User", spec.uid() + ":" + spec.gid());
        ArrayNode env = run.putArray("Env");
        spec.env().forEach((k, v) -> env.add(k + "=" + v));
        if (!spec.entrypoint().isEmpty()) {
            ArrayNode a = run.putArray("Entrypoint");
            spec.entrypoint().forEach(a::add);
        }
        if (!spec.cmd().isEmpty()) {
            ArrayNode a = run.putArray("Cmd");
            spec.cmd().forEach(a::add);
        }
        if (spec.workdir() != null) {
            run.put("WorkingDir", spec.workdir());
        }
        if (!spec.labels().isEmpty()) {
            ObjectNode labels = run.putObject("Labels");
            spec.labels().forEach(labels::put);
        }
        ObjectNode rootfs = root.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode diffIds = rootfs.putArray("diff_ids");
        ArrayNode history = root.putArray("history");
        for (Composition.Layer layer : composition.layers()) {
            diffIds.add(layer.diffId());
            ObjectNode h = history.addObject();
            h.put("created", created);
            h.put("created_by", "kiln: " + layer.name() + (layer.packages().isEmpty() ? "" : " (" + String.join(", ", layer.packages()) + ")"));
        }
        return root;
    }
}
