package dev.kiln.testing;

/** Test teardown: closes what was opened, in order, skipping what never was. */
public final class Resources {

    private Resources() {
    }

    public static void close(AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            if (r != null) {
                try {
                    r.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + r + ": " + e.getMessage(), e);
                }
            }
        }
    }
}
