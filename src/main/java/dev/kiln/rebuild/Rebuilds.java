package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogRevision;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.DebianException;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.history.History;
import dev.kiln.image.Composition;
import dev.kiln.image.ImageException;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.PublishException;
import dev.kiln.sign.SignException;
import dev.kiln.sign.Signer;
import java.time.Instant;
import java.util.ArrayList;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One rebuild of one stack, recorded from request to result: resolve against fresh indexes (or take
 * the given lock), fingerprint the inputs, and either record "up to date" without pushing anything or
 * build, verify, publish and record the image with the packages that changed. Every outcome, failures
 * included, ends in the build's row; nothing is tagged unless the whole build passed.
 */
public final class Rebuilds {

    private static final Logger log = LoggerFactory.getLogger(Rebuilds.class);

    private final Path catalogDir;
    private final StackLocker locker;
    private final StackBuilder builder;
    private final History history;
    private final ImageTarget target;
    private final String instance;
    private final String kilnVersion;
    private final BuildSettings buildSettings;
    private final MeterRegistry meters;
    private final Attester attester;
    private final Set<Long> running = ConcurrentHashMap.newKeySet();

    /**
     * @param buildSettings the settings that shape an image besides the stack: part of the fingerprint
     * @param attester      signs and checks each build's evidence ({@link Attester#unsigned()}: builds are recorded unsigned)
     */
    public Rebuilds(Path catalogDir, StackLocker locker, StackBuilder builder, History history, ImageTarget target,
                    String instance, String kilnVersion, BuildSettings buildSettings, MeterRegistry meters, Attester attester) {
        this.catalogDir = catalogDir;
        this.locker = locker;
        this.builder = builder;
        this.history = history;
        this.target = target;
        this.instance = instance;
        this.kilnVersion = kilnVersion;
        this.buildSettings = buildSettings;
        this.meters = meters;
        this.attester = attester;
    }

    /**
     * A rebuild to run. {@code queued} is a build row opened earlier (by the API) to run now;
     * {@code lock} and {@code tag} are the CLI's: build that lock file, under that tag.
     */
    public record Request(String stack, String trigger, String who, Long queued, Long recoveredFrom, Optional<Lock> lock,
                          Optional<String> tag) {
        public static Request of(String stack, String trigger, String who) {
            return new Request(stack, trigger, who, null, null, Optional.empty(), Optional.empty());
        }
    }

    /** How a rebuild ended; {@code joined} means another build of the stack was already under way. */
    public record Outcome(long build, String status, boolean joined, String detail, StackBuilder.Result result) {
    }

    /** Opens a queued build (or joins the stack's active one) for someone else to run. */
    public History.Ticket enqueue(String stack, String trigger, String who) {
        return history.open(historyRequest(Request.of(stack, trigger, who)), false, instance);
    }

    /** The builds this instance is running now (for its heartbeat). */
    public List<Long> running() {
        return List.copyOf(running);
    }

    public String instance() {
        return instance;
    }

    public Outcome run(Request request) {
        long id;
        if (request.queued() != null) {
            if (!history.start(request.queued(), instance)) {
                return new Outcome(request.queued(), "not-queued", true, "build " + request.queued() + " is no longer queued", null);
            }
            id = request.queued();
        } else {
            History.Ticket ticket = history.open(historyRequest(request), true, instance);
            if (ticket.joined()) {
                log.info("{}: build {} is already under way; this {} request joins it", request.stack(), ticket.id(), request.trigger());
                return new Outcome(ticket.id(), "joined", true, "joined build " + ticket.id(), null);
            }
            id = ticket.id();
        }
        running.add(id);
        Timer.Sample sample = Timer.start(meters);
        String status = "failed";
        MDC.put("build", Long.toString(id));
        try {
            log.info("build {} of {} started ({} by {})", id, request.stack(), request.trigger(), request.who());
            Outcome outcome = execute(id, request);
            status = outcome.status();
            return outcome;
        } catch (BuildException | ImageException | PublishException | DebianException | SignException e) {
            String reason = e instanceof ImageException image
                    ? image.problems().stream().map(Object::toString).collect(Collectors.joining("; ")) : e.getMessage();
            log.warn("build {} of {} failed: {}", id, request.stack(), reason);
            history.failed(id, reason);
            return new Outcome(id, "failed", false, reason, null);
        } catch (RuntimeException e) {
            log.error("build {} of {} failed unexpectedly", id, request.stack(), e);
            history.failed(id, "internal error: " + e);
            return new Outcome(id, "failed", false, e.toString(), null);
        } finally {
            running.remove(id);
            sample.stop(meters.timer("kiln.build.duration", "stack", request.stack(), "status", status));
            meters.counter("kiln.builds", "stack", request.stack(), "status", status).increment();
            MDC.remove("build");
        }
    }

    private Outcome execute(long id, Request request) {
        Instant started = Instant.now();
        Catalog catalog = Catalog.load(catalogDir);
        Stack stack = catalog.stack(request.stack()).orElseThrow(() -> new BuildException(catalog.problems(request.stack()).isEmpty()
                ? "no stack '" + request.stack() + "' in " + catalogDir
                : catalog.problems(request.stack()).stream().map(Problem::toString).collect(Collectors.joining("; "))));
        step(id, stack, "resolving");
        Lock lock = request.lock().orElseGet(() -> {
            StackLocker.Outcome resolved = locker.resolve(catalog, stack);
            if (!resolved.ok()) {
                throw new BuildException(resolved.problems().stream().map(Problem::toString).collect(Collectors.joining("; ")));
            }
            return resolved.lock();
        });
        String fingerprint = fingerprint(lock, StackBuilder.config(catalog, stack, lock, java.time.Instant.EPOCH));
        String repository = target.repository(stack.target().repository());
        history.resolved(id, new History.Inputs(fingerprint, lock.stackDigest(), lock.digest(), LockFile.toJson(lock), target.name(),
                repository));
        Optional<String> sourceUrl = CatalogRevision.of(catalog.directory()).flatMap(CatalogRevision::sourceUrl);
        history.recipe(id, Catalog.canonical(stack), buildSettings.recipe(sourceUrl));
        Optional<History.Good> previous = history.lastGood(stack.name(), target.name());
        // a key configured since the image was made (or another key): sign it now, which takes a build
        boolean signedAsConfigured = attester.key().map(k -> k.id().equals(previous.map(History.Good::signingKeyId).orElse(null))).orElse(true);
        if (request.tag().isEmpty() && previous.isPresent() && previous.get().fingerprint().equals(fingerprint) && signedAsConfigured) {
            step(id, stack, "checking the published image");
            if (target.tagged(repository, previous.get().tag()).map(previous.get().digest()::equals).orElse(false)) {
                history.upToDate(id, previous.get());
                meters.counter("kiln.ticks.up_to_date", "stack", stack.name()).increment();
                log.info("build {} of {}: up to date (fingerprint {}), {} unchanged, nothing pushed", id, stack.name(),
                        fingerprint.substring(0, 19), previous.get().reference());
                return new Outcome(id, "up-to-date", false, previous.get().reference(), null);
            }
            log.info("build {} of {}: inputs unchanged but {} is gone from {}; building again", id, stack.name(),
                    previous.get().reference(), target.name());
        }
        Lock before = previous.map(g -> g.lock() == null ? null : LockFile.fromJson(g.lock())).orElse(null);
        List<Signer.Signed> signed = new ArrayList<>();
        StackBuilder.Result result = builder.build(catalog, stack, lock, target, request.tag(), step -> step(id, stack, step), staged -> {
            if (attester.key().isEmpty()) {
                return List.of();
            }
            step(id, stack, "signing");
            String subject = target.pullReference(staged.repository(), staged.image().digest()).map(r -> r.substring(0, r.indexOf('@')))
                    .orElse(staged.repository());
            Attestations.Facts facts = new Attestations.Facts(id, stack, lock.stackDigest(),
                    CatalogRevision.of(catalogDir).map(CatalogRevision::commit).orElse(null), lock, before, staged.composition(), target.name(),
                    staged.repository(), subject, staged.image().digest(), staged.tag(), kilnVersion, instance, request.trigger(), request.who(),
                    started, Instant.now());
            signed.clear();
            signed.addAll(attester.sign(facts, staged.image().descriptor()));
            step(id, stack, "attaching evidence");
            return signed.stream().map(Signer.Signed::artifact).toList();
        });
        History.Signing evidence = null;
        if (attester.key().isPresent()) {
            step(id, stack, "verifying evidence");
            evidence = attester.check(target, repository, result.published().digest(), result.published().tag(), signed);
        }
        step(id, stack, "reviewing");
        Optional<ImageTarget.Review> review = target.review(repository, result.published().digest());
        boolean held = review.map(ImageTarget.Review::holdsBack).orElse(false);
        List<Lock.Change> changes = lock.changesSince(before);
        Composition c = result.composition();
        step(id, stack, "recording");
        history.succeeded(id, new History.Published(result.published().digest(), result.published().reference(),
                result.published().tag(), result.published().alreadyPresent(), c.size(),
                c.layers().stream().mapToLong(Composition.Layer::uncompressedSize).sum(),
                c.layers().stream().map(l -> Map.of("name", l.name(), "digest", l.digest(), "size", l.size(),
                        "packages", l.packages())).toList(),
                result.published().bytesPushed(), c.report(), changes, previous.map(History.Good::id).orElse(null), held,
                review.map(ImageTarget.Review::evidence).orElse(null)), evidence);
        if (held) {
            log.warn("build {} of {}: held back by {}: {}", id, stack.name(), target.name(), review.get().reason());
            return new Outcome(id, "quarantined", false, result.published().reference() + ": " + review.get().reason(), result);
        }
        meters.counter("kiln.bytes.pushed", "stack", stack.name()).increment(result.published().bytesPushed());
        log.info("build {} of {} succeeded: {} {} ({} package change(s), {} bytes pushed)", id, stack.name(),
                result.published().reference(), result.published().digest(), changes.size(), result.published().bytesPushed());
        return new Outcome(id, "succeeded", false, result.published().reference(), result);
    }

    private void step(long id, Stack stack, String step) {
        log.info("build {} of {}: {}", id, stack.name(), step);
        history.step(id, step);
    }

    /**
     * The inputs an image is made from: the lock (which covers the stack definition), everything that goes
     * into its config, Kiln and its settings, the target. Equal fingerprints mean equal images.
     */
    String fingerprint(Lock lock, dev.kiln.publish.ImageConfig config) {
        String text = "lock " + lock.digest() + "\nstack " + lock.stackDigest() + "\nconfig " + config + "\nkiln " + kilnVersion
                + "\nsettings " + buildSettings.text() + "\ntarget " + target.name() + "\n";
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private History.Request historyRequest(Request request) {
        return new History.Request(request.stack(), request.trigger(), request.who(),
                CatalogRevision.of(catalogDir).map(CatalogRevision::commit).orElse(null), kilnVersion, request.recoveredFrom());
    }
}
