package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.DebianException;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.history.History;
import dev.kiln.image.ImageException;
import dev.kiln.publish.Descriptor;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.Manifest;
import dev.kiln.publish.PublishException;
import dev.kiln.sign.Claim;
import dev.kiln.sign.SignException;
import dev.kiln.sign.Signer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code kiln rebuild --verify BUILD}: makes a recorded build again from its recorded inputs alone (the
 * stack definition, the lock, the settings) in a clean workspace (empty package and layer caches, so
 * every package is downloaded and checked again), and compares the digest. The outcome is recorded and,
 * with a key, attached to the image as a signed attestation ("reproduced by INSTANCE at TIME"). Another
 * Kiln version is refused: the image format is Kiln's code, and only the same code can be held to the
 * same digest.
 */
public final class Reproducer {

    /** The attestation's predicate type. */
    public static final String PREDICATE = "https://kiln.dev/reproduction/v1";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Makes a builder that works in {@code dir} alone (its own caches and scratch space), with {@code settings}. */
    @FunctionalInterface
    public interface Workspace {
        StackBuilder builder(Path dir, BuildSettings settings);
    }

    /**
     * The outcome: {@code reproduced}, {@code differs}, {@code failed} (the rebuild did not get to a digest)
     * or {@code refused} (not attempted, not recorded); {@code attested}: the signed record is on the image.
     */
    public record Outcome(long build, String status, String imageDigest, String rebuiltDigest, String detail, boolean attested, Instant at) {
    }

    private final History history;
    private final ImageTarget target;
    private final Attester attester;
    private final Workspace workspace;
    private final Path workRoot;
    private final String instance;
    private final String kilnVersion;
    private final Clock clock;

    public Reproducer(History history, ImageTarget target, Attester attester, Workspace workspace, Path workRoot, String instance,
                      String kilnVersion, Clock clock) {
        this.history = history;
        this.target = target;
        this.attester = attester;
        this.workspace = workspace;
        this.workRoot = workRoot;
        this.instance = instance;
        this.kilnVersion = kilnVersion;
        this.clock = clock;
    }

    public Outcome verify(long build, String who, Consumer<String> progress) {
        Instant started = clock.instant();
        History.Recipe recipe = history.recipe(build).orElseThrow(() -> new BuildException("no published build " + build
                + " (only a build that succeeded or was quarantined made an image to compare)"));
        if (!recipe.kilnVersion().equals(kilnVersion)) {
            return new Outcome(build, "refused", recipe.imageDigest(), null, "build " + build + " was made by Kiln " + recipe.kilnVersion()
                    + " and this is Kiln " + kilnVersion + "; rebuild it with Kiln " + recipe.kilnVersion(), false, started);
        }
        if (recipe.stackDefinition() == null || recipe.buildSettings() == null) {
            return new Outcome(build, "refused", recipe.imageDigest(), null, "build " + build
                    + " was recorded before Kiln kept the inputs a rebuild needs (stack definition, settings)", false, started);
        }
        String status;
        String rebuilt = null;
        String detail;
        try {
            rebuilt = rebuild(recipe, progress);
            status = rebuilt.equals(recipe.imageDigest()) ? "reproduced" : "differs";
            detail = status.equals("reproduced") ? "the same digest from the recorded inputs in a clean workspace"
                    : "the recorded inputs now make " + rebuilt + ", not " + recipe.imageDigest();
        } catch (BuildException | DebianException | ImageException | IllegalArgumentException e) {
            status = "failed";
            detail = e instanceof ImageException image ? String.join("; ", image.problems()) : e.getMessage();
        }
        Instant at = clock.instant();
        History.Evidence evidence = null;
        if (!status.equals("failed")) {
            progress.accept("attesting");
            try {
                evidence = attest(recipe, rebuilt, status, at).orElse(null);
            } catch (SignException | PublishException e) {
                detail += "; the attestation was not attached: " + e.getMessage();
            }
            if (evidence == null && attester.key().isPresent() && !recipe.target().equals(target.name())) {
                detail += "; the image is on " + recipe.target() + ", not attested (run with --target for it)";
            }
        }
        history.reproduced(new History.Reproduction(build, instance, kilnVersion, who, started, at, status, rebuilt, detail, evidence));
        return new Outcome(build, status, recipe.imageDigest(), rebuilt, detail, evidence != null, at);
    }

    private String rebuild(History.Recipe recipe, Consumer<String> progress) {
        if (!Catalog.digest(recipe.stackDefinition()).equals(recipe.stackDigest())) {
            throw new BuildException("build " + recipe.build() + ": the recorded stack definition hashes to "
                    + Catalog.digest(recipe.stackDefinition()) + ", not the recorded " + recipe.stackDigest());
        }
        Stack stack = Catalog.fromCanonical(recipe.stackDefinition());
        Lock lock = LockFile.fromJson(recipe.lock());
        JsonNode settings = JSON.readTree(recipe.buildSettings());
        BuildSettings buildSettings = new BuildSettings(settings.path("maxLayers").asInt(), settings.path("largePackageBytes").asLong(),
                settings.path("compressionLevel").asInt(1), settings.path("sourceDateEpoch").asString(""));
        Optional<String> sourceUrl = settings.hasNonNull("sourceUrl") ? Optional.of(settings.get("sourceUrl").asString()) : Optional.empty();
        Path dir;
        try {
            Files.createDirectories(workRoot);
            dir = Files.createTempDirectory(workRoot, "rebuild-" + recipe.build() + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            return workspace.builder(dir, buildSettings).assemble(stack, lock, sourceUrl, progress).image().digest();
        } finally {
            delete(dir);
        }
    }

    /** Signs the outcome and attaches it to the recorded image, when there is a key and the image is on this target. */
    private Optional<History.Evidence> attest(History.Recipe recipe, String rebuilt, String status, Instant at) {
        if (attester.key().isEmpty() || !recipe.target().equals(target.name())) {
            return Optional.empty();
        }
        Manifest image = target.manifest(recipe.repository(), recipe.imageDigest())
                .orElseThrow(() -> new PublishException(recipe.repository() + "@" + recipe.imageDigest() + " is gone from " + target.name()));
        Map<String, Object> predicate = new LinkedHashMap<>();
        predicate.put("build", recipe.build());
        predicate.put("stack", recipe.stack());
        predicate.put("image", recipe.imageDigest());
        predicate.put("rebuilt", rebuilt);
        predicate.put("reproduced", status.equals("reproduced"));
        predicate.put("reproducedBy", instance);
        predicate.put("at", at.toString());
        predicate.put("kilnVersion", kilnVersion);
        predicate.put("inputs", Map.of("stackDigest", recipe.stackDigest(), "lock", LockFile.fromJson(recipe.lock()).digest()));
        Claim claim = new Claim(PREDICATE, PREDICATE, JSON.writeValueAsString(predicate).getBytes(StandardCharsets.UTF_8));
        String subject = target.pullReference(recipe.repository(), recipe.imageDigest()).map(r -> r.substring(0, r.indexOf('@')))
                .orElse(recipe.repository());
        Descriptor descriptor = image.descriptor();
        Signer.Signed signed = attester.attest(subject, descriptor, claim);
        target.attach(recipe.repository(), signed.artifact());
        if (target.referrers(recipe.repository(), recipe.imageDigest()).stream().noneMatch(d -> d.digest().equals(signed.artifact().digest()))) {
            throw new PublishException("the attestation " + signed.artifact().digest() + " is not among the image's referrers after attaching it");
        }
        String keyId = attester.key().get().id();
        return Optional.of(new History.Evidence(PREDICATE, PREDICATE, signed.artifact().digest(), signed.bundleDigest(), signed.predicateDigest(),
                keyId, signed.bundle()));
    }

    private static void delete(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover workspace is only disk space
        }
    }
}
