package dev.kiln.compliance;

import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Two builds of a stack side by side: the packages (from their locks), the stack definition, the layers
 * (by name: digest and size), the image config as pushed, and the hardening and verification report.
 * {@code from} is the older side; each list says what changed going to {@code to}.
 */
public record Comparison(History.Build from, History.Build to, List<Lock.Change> packages, List<JsonDiff.Change> definition,
                         List<JsonDiff.Change> layers, List<JsonDiff.Change> config, List<JsonDiff.Change> hardening,
                         List<String> notRecorded) {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    public Comparison {
        packages = List.copyOf(packages);
        definition = List.copyOf(definition);
        layers = List.copyOf(layers);
        config = List.copyOf(config);
        hardening = List.copyOf(hardening);
        notRecorded = List.copyOf(notRecorded);
    }

    /** Compares two recorded builds; empty when either is not recorded. */
    public static Optional<Comparison> of(History history, BuildRecords records, long a, long b) {
        Optional<History.Build> first = history.build(Math.min(a, b));
        Optional<History.Build> second = history.build(Math.max(a, b));
        if (first.isEmpty() || second.isEmpty()) {
            return Optional.empty();
        }
        History.Build from = first.get();
        History.Build to = second.get();
        BuildRecords.Measured mf = records.measured(image(from));
        BuildRecords.Measured mt = records.measured(image(to));
        List<String> missing = new java.util.ArrayList<>();
        if (mf.stackDefinition() == null || mt.stackDefinition() == null) {
            missing.add("definition");
        }
        if (mf.imageConfig() == null || mt.imageConfig() == null) {
            missing.add("config");
        }
        int before = missing.size();
        Optional<Lock> lockFrom = lock(from, missing);
        Optional<Lock> lockTo = lock(to, missing);
        // a lock that cannot be read is not an empty one: every package would show as added
        List<Lock.Change> packages = missing.size() > before ? List.of()
                : lockTo.map(l -> l.changesSince(lockFrom.orElse(null))).orElse(List.of());
        return Optional.of(new Comparison(from, to, packages,
                JsonDiff.of(json(mf.stackDefinition()), json(mt.stackDefinition())),
                JsonDiff.of(layers(from.layers()), layers(to.layers())),
                JsonDiff.of(config(mf.imageConfig()), config(mt.imageConfig())),
                JsonDiff.of(from.report(), to.report()), missing));
    }

    private static long image(History.Build b) {
        return "up-to-date".equals(b.status()) && b.previousBuildId() != null ? b.previousBuildId() : b.id();
    }

    /** The build's lock; empty when it has none, or when it cannot be read (one an older Kiln wrote), which {@code missing} then says. */
    private static Optional<Lock> lock(History.Build b, List<String> missing) {
        if (b.lock() == null || b.lock().isNull()) {
            return Optional.empty();
        }
        try {
            return Optional.of(LockFile.fromJson(b.lock().toString()));
        } catch (RuntimeException e) {
            String reason = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            missing.add("packages (the lock of build " + b.id() + " cannot be read: "
                    + (reason.length() > 160 ? reason.substring(0, 160) + "..." : reason) + ")");
            return Optional.empty();
        }
    }

    private static JsonNode json(String text) {
        return text == null ? null : JSON.readTree(text);
    }

    /** Layers by name, so a layer that moved in the list is not a change. */
    private static JsonNode layers(JsonNode layers) {
        if (layers == null || !layers.isArray()) {
            return null;
        }
        ObjectNode byName = JSON.createObjectNode();
        layers.forEach(l -> byName.putObject(l.path("name").asString()).put("digest", l.path("digest").asString())
                .put("size", l.path("size").asLong()));
        return byName;
    }

    /** The config without its creation time and layer ids, which every build changes. */
    private static JsonNode config(JsonNode config) {
        if (config == null) {
            return null;
        }
        if (!(config.deepCopy() instanceof ObjectNode copy)) {
            return config;
        }
        copy.remove("created");
        copy.remove("rootfs");
        copy.remove("history");
        if (copy.path("config").path("Labels") instanceof ObjectNode labels) {
            labels.remove("org.opencontainers.image.created");
        }
        return copy;
    }
}
