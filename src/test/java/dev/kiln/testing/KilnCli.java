package dev.kiln.testing;

import dev.kiln.KilnApplication;
import dev.kiln.cli.KilnCommandLine;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The kiln command line in this JVM, on one catalog and data directory, keeping what the last command printed. */
public final class KilnCli {

    private final List<String> common;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    public KilnCli(Path catalog, Path dataDir) {
        this(catalog, dataDir, new String[0]);
    }

    /** @param settings arguments every command gets after {@code --catalog} and {@code --data-dir} (a target, its settings) */
    public KilnCli(Path catalog, Path dataDir, String... settings) {
        List<String> all = new ArrayList<>(List.of("--catalog", catalog.toString(), "--data-dir", dataDir.toString()));
        all.addAll(List.of(settings));
        this.common = List.copyOf(all);
    }

    /** Runs one command with {@code --catalog}, {@code --data-dir} and the settings added; its exit code. */
    public int run(String... args) {
        out.reset();
        err.reset();
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(common);
        return KilnCommandLine.run(KilnApplication.class, all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    public String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    public String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
