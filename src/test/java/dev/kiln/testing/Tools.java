package dev.kiln.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Go tools the signing tests check Kiln against, as .ci/tools builds them into ~/.cache/kiln/bin
 * (or $KILN_TOOLS): cosign (Sigstore's own signer and verifier) and crane (plain registry requests for
 * the tampering cases).
 */
public final class Tools {

    private static final Path BIN = Path.of(System.getenv().getOrDefault("KILN_TOOLS", System.getProperty("user.home") + "/.cache/kiln/bin"));

    private Tools() {
    }

    /** An exit code and everything the tool printed (stdout and stderr together). */
    public record Run(int exit, String output) {
        public boolean ok() {
            return exit == 0;
        }
    }

    /** cosign with {@code args}; registries on loopback are reached over plain HTTP. */
    public static Run cosign(String... args) {
        return run("cosign", Map.of("COSIGN_PASSWORD", ""), args);
    }

    public static Run crane(String... args) {
        return run("crane", Map.of(), args);
    }

    public static Path path(String tool) {
        Path p = BIN.resolve(tool);
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException(p + " is missing: run 'bash .ci/tools' first (or set KILN_TOOLS)");
        }
        return p;
    }

    private static Run run(String tool, Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>();
        command.add(path(tool).toString());
        command.addAll(List.of(args));
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().putAll(env);
            // nothing in these tests may reach Sigstore's public services
            pb.environment().put("TUF_ROOT", Files.createTempDirectory("kiln-tuf").toString());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Run(p.waitFor(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
