package dev.kiln.rebuild;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The settings that shape an image besides its stack and lock: the layer budget, the large-package
 * threshold, the layers' gzip level and SOURCE_DATE_EPOCH. Part of every build's fingerprint, and recorded with each build (with
 * the catalog's source URL, which becomes a label) so an independent rebuild uses the same.
 *
 * @param sourceDateEpoch SOURCE_DATE_EPOCH as given, or "" when unset
 */
public record BuildSettings(int maxLayers, long largePackageBytes, int compressionLevel, String sourceDateEpoch) {

    public BuildSettings {
        sourceDateEpoch = sourceDateEpoch == null ? "" : sourceDateEpoch.strip();
    }

    /** How the fingerprint spells them. */
    public String text() {
        return "maxLayers=" + maxLayers + " largePackageBytes=" + largePackageBytes + " gzip=" + compressionLevel
                + " sourceDateEpoch=" + sourceDateEpoch;
    }

    /** What a build records for its rebuild. */
    Map<String, Object> recipe(Optional<String> sourceUrl) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("maxLayers", maxLayers);
        out.put("largePackageBytes", largePackageBytes);
        out.put("compressionLevel", compressionLevel);
        out.put("sourceDateEpoch", sourceDateEpoch);
        out.put("sourceUrl", sourceUrl.orElse(null));
        return out;
    }
}
