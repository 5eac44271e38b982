package dev.kiln.compliance;

import dev.kiln.image.LayerInspector;
import dev.kiln.publish.ImageTarget;
import java.time.Instant;
import java.util.List;

/**
 * An image as measured once it was pushed: each of its layers read from the bytes pushed
 * ({@link LayerInspector}), and what its target said about the push (a new tag or one that already
 * named the digest) and about the repository (tag immutability, encryption).
 */
public record Inspection(Instant measuredAt, List<LayerInspector.Facts> layers, Target target) {

    public Inspection {
        layers = List.copyOf(layers);
    }

    /**
     * @param name       the target as recorded with the build
     * @param tag        the tag the build published
     * @param newTag     the tag was new: Kiln pushed it (false: it already named this digest)
     * @param protection the repository's settings as the target reported them after the push, or null
     */
    public record Target(String name, String tag, boolean newTag, ImageTarget.Protection protection) {
    }
}
