package dev.kiln.publish;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an image says about itself besides its layers: how it runs (user, env, entrypoint, cmd, workdir),
 * its labels (inherited by images built FROM it) and its manifest annotations (facts about this image
 * alone, which derived images do not inherit). {@code architecture} and {@code variant} are the OCI
 * platform's ({@code arm64}, {@code arm}/{@code v7}); the variant is null where none is needed.
 */
public record ImageConfig(String architecture, String variant, int uid, int gid, Map<String, String> env, List<String> entrypoint, List<String> cmd,
                          String workdir, Map<String, String> labels, Map<String, String> annotations) {

    public ImageConfig {
        // sorted, never Map.copyOf: its iteration order changes from one JVM run to the next, and the
        // order of env, labels and annotations is part of the config and manifest, hence of the digest
        env = Collections.unmodifiableSortedMap(new TreeMap<>(env));
        entrypoint = List.copyOf(entrypoint);
        cmd = List.copyOf(cmd);
        labels = Collections.unmodifiableSortedMap(new TreeMap<>(labels));
        annotations = Collections.unmodifiableSortedMap(new TreeMap<>(annotations));
    }
}
