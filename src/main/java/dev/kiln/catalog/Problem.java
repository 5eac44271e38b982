package dev.kiln.catalog;

/** One thing wrong with the catalog: which file, where in it (a path like {@code packages[2]}), and why. */
public record Problem(String file, String path, String reason) {

    @Override
    public String toString() {
        return file + ": " + (path == null || path.isEmpty() ? "" : path + ": ") + reason;
    }
}
