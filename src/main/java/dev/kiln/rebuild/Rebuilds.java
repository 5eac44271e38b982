package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.CatalogRevision;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.DebianArchive;
import dev.kiln.debian.DebianException;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.history.History;
import dev.kiln.history.RebaseGrants;
import dev.kiln.image.Composition;
import dev.kiln.image.ImageException;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.PublishException;
import dev.kiln.publish.Publisher;
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
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
    private final Map<Long, Running> running = new ConcurrentHashMap<>();
    private final Duration publishTimeout;
    private final CatalogCache catalogs;
    private final BuildRecorder recorder;
    private final RebaseGrants rebases;
    private static final ScheduledExecutorService WATCH = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kiln-publish-watch");
        t.setDaemon(true);
        return t;
    });

    /**
     * A build this instance runs now: its thread, the step it reached, whether someone asked to cancel
     * it. {@code done} is set under the lock before the thread moves on, so a late cancel never
     * interrupts whatever the thread does next.
     */
    private static final class Running {
        final Thread thread = Thread.currentThread();
        volatile String step;
        volatile boolean cancel;
        volatile boolean stalled;
        boolean done;
    }

    /** Thrown at a step boundary of a build someone asked to cancel. */
    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super("cancelled", null, false, false);
        }
    }

    /** Steps that may be interrupted; from publishing on, the build runs to its end and records what it published. */
    private static final Set<String> INTERRUPTIBLE = Set.of("resolving", "checking the published image", "fetching", "composing");

    /**
     * The steps of a publication, watched by the publish timeout: signing and attaching run inside it (the
     * evidence is made once the tag is chosen, and the image's content is pushed under "attaching evidence").
     * Until the content push, nothing is on the target, so a cancel still stops the build at their start.
     */
    private static final Set<String> PUBLISHING = Set.of("publishing", "signing", "attaching evidence");

    /**
     * @param buildSettings  the settings that shape an image besides the stack (layer budget and so
     *                       on): part of the fingerprint
     * @param publishTimeout a push that has not ended after this long is given up (its thread interrupted)
     *                       as the registry's outage: a registry that died mid-push was seen to leave jib
     *                       waiting for ever
     * @param attester       signs and checks each build's evidence ({@link Attester#unsigned()}: builds are recorded unsigned)
     * @param recorder       records what review needs besides the build row (definition, measurement, documents)
     * @param rebases        re-bases granted through the API: the next build of the stack may go back to older Releases
     */
    public Rebuilds(CatalogCache catalogs, StackLocker locker, StackBuilder builder, History history, ImageTarget target,
                    String instance, String kilnVersion, BuildSettings buildSettings, MeterRegistry meters,
                    Duration publishTimeout, Attester attester, BuildRecorder recorder, RebaseGrants rebases) {
        this.publishTimeout = publishTimeout;
        this.rebases = rebases;
        this.catalogs = catalogs;
        this.recorder = recorder;
        this.catalogDir = catalogs.directory();
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
                          Optional<String> tag, Integer attempt) {
        public Request(String stack, String trigger, String who, Long queued, Long recoveredFrom, Optional<Lock> lock,
                       Optional<String> tag) {
            this(stack, trigger, who, queued, recoveredFrom, lock, tag, null);
        }

        public static Request of(String stack, String trigger, String who) {
            return new Request(stack, trigger, who, null, null, Optional.empty(), Optional.empty());
        }

        /** Retry {@code attempt} of a build that an outage interrupted. */
        public static Request retry(String stack, String who, long interrupted, int attempt) {
            return new Request(stack, "retry", who, null, interrupted, Optional.empty(), Optional.empty(), attempt);
        }
    }

    /**
     * How a rebuild ended; {@code joined} means another build of the stack was already under way;
     * {@code warnings} are worth telling whoever asked, whatever the status (a lock file that is no
     * longer current), and are in the build's record too; {@code outage} names the peer whose outage
     * failed it (worth a retry), null otherwise.
     */
    public record Outcome(long build, String status, boolean joined, String detail, StackBuilder.Result result, List<String> warnings,
                          Outage outage) {
        public Outcome {
            warnings = List.copyOf(warnings);
        }

        public Outcome(long build, String status, boolean joined, String detail, StackBuilder.Result result) {
            this(build, status, joined, detail, result, List.of(), null);
        }

        Outcome(long build, String status, boolean joined, String detail, StackBuilder.Result result, List<String> warnings) {
            this(build, status, joined, detail, result, warnings, null);
        }
    }

    /**
     * The build's report column: the image's hardening report (for an image index, each platform's under
     * {@code platforms}), and for a build from a lock file how current that lock was ({@link StackLocker#currency}).
     */
    record BuildReport(@JsonUnwrapped Composition.Report image,
                       @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, Composition.Report> platforms,
                       @JsonInclude(JsonInclude.Include.NON_NULL) LockCheck lock) {

        BuildReport(Composition.Report image, LockCheck lock) {
            this(image, null, lock);
        }

        static BuildReport of(StackBuilder.Result result, LockCheck lock) {
            if (!result.index()) {
                return new BuildReport(result.only().composition().report(), null, lock);
            }
            Map<String, Composition.Report> reports = new java.util.LinkedHashMap<>();
            result.platforms().forEach(p -> reports.put(p.architecture(), p.composition().report()));
            return new BuildReport(null, reports, lock);
        }
    }

    /** A lock file checked against the archive at build time. */
    record LockCheck(boolean current, List<String> problems, List<String> notes) {
        static LockCheck of(StackLocker.Currency currency) {
            return new LockCheck(currency.current(), currency.problems().stream().map(Problem::reason).toList(), currency.notes());
        }

        List<String> warnings() {
            List<String> all = new java.util.ArrayList<>();
            problems.forEach(p -> all.add("lock: " + p));
            notes.forEach(n -> all.add("lock: " + n));
            return all;
        }
    }

    /** Opens a queued build (or joins the stack's active one) for someone else to run. */
    public History.Ticket enqueue(String stack, String trigger, String who) {
        return history.open(historyRequest(Request.of(stack, trigger, who)), false, instance);
    }

    /** The builds this instance is running now (for its heartbeat). */
    public List<Long> running() {
        return List.copyOf(running.keySet());
    }

    /**
     * Stops build {@code id} if this instance runs it and someone asked to cancel it (see
     * {@link History#requestCancel}): at once while it resolves, fetches or composes (the thread is
     * interrupted), otherwise at its next step; once publishing has begun it runs to its end, so what it
     * pushed is recorded. False when the build does not run here.
     */
    public boolean cancel(long id) {
        Running r = running.get(id);
        if (r == null) {
            return false;
        }
        synchronized (r) {
            r.cancel = true;
            if (!r.done && r.step != null && INTERRUPTIBLE.contains(r.step)) {
                r.thread.interrupt();
            }
        }
        return true;
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
        Running current = new Running();
        running.put(id, current);
        List<String> warnings = new java.util.ArrayList<>();
        Timer.Sample sample = Timer.start(meters);
        String status = "failed";
        MDC.put("build", Long.toString(id));
        try {
            log.info("build {} of {} started ({} by {})", id, request.stack(), request.trigger(), request.who());
            Outcome outcome = execute(id, request, warnings);
            status = outcome.status();
            return outcome;
        } catch (RuntimeException e) {
            Outcome outcome = ended(id, request, current, e, warnings);
            status = outcome.status();
            return outcome;
        } catch (Error e) {
            // out of memory, say: the record must not stay "running" while this instance lives on; then the error goes on
            log.error("build {} of {} failed unexpectedly", id, request.stack(), e);
            try {
                history.failed(id, "internal error: " + e);
            } catch (RuntimeException | Error unrecorded) {
                e.addSuppressed(unrecorded);
            }
            throw e;
        } finally {
            synchronized (current) {
                current.done = true;
            }
            Thread.interrupted();
            running.remove(id);
            sample.stop(meters.timer("kiln.build.duration", "stack", request.stack(), "status", status));
            meters.counter("kiln.builds", "stack", request.stack(), "status", status).increment();
            MDC.remove("build");
        }
    }

    /** Records how a build that threw ended: cancelled, interrupted by a peer's outage, or failed. */
    private Outcome ended(long id, Request request, Running current, RuntimeException e, List<String> warnings) {
        if (current.cancel) {
            synchronized (current) {
                current.done = true;
            }
            Thread.interrupted();
            log.info("build {} of {} cancelled while {}", id, request.stack(), current.step);
            history.cancelled(id, current.step);
            return new Outcome(id, "cancelled", false, "cancelled while " + current.step, null, warnings);
        }
        Optional<Outage> outage = current.stalled ? Optional.of(Outage.REGISTRY) : Outage.of(e, current.step);
        String reason = current.stalled ? "the push did not end within " + publishTimeout
                : e instanceof ImageException image
                ? image.problems().stream().map(Object::toString).collect(Collectors.joining("; "))
                : e instanceof BuildException || e instanceof PublishException || e instanceof DebianException
                  || e instanceof SignException ? e.getMessage()
                : outage.isPresent() ? String.valueOf(e.getMessage()) : "internal error: " + e;
        if (outage.isPresent()) {
            reason = "interrupted: " + outage.get() + " is unavailable (" + reason + ")";
            log.warn("build {} of {} {}", id, request.stack(), reason);
        } else if (reason.startsWith("internal error")) {
            log.error("build {} of {} failed unexpectedly", id, request.stack(), e);
        } else {
            log.warn("build {} of {} failed: {}", id, request.stack(), reason);
        }
        try {
            history.failed(id, reason);
        } catch (RuntimeException unrecorded) {
            if (!Outage.database(unrecorded)) {
                throw unrecorded;
            }
            // the database went away: the retry records this failure once it is back
            log.warn("build {} of {}: failure not recorded, the database is unavailable ({})", id, request.stack(), unrecorded.getMessage());
            return new Outcome(id, "failed", false, reason, null, warnings, Outage.DATABASE);
        }
        return new Outcome(id, "failed", false, reason, null, warnings, outage.orElse(null));
    }

    /** @param warnings filled as they come up, so that a build that then fails still reports them */
    private Outcome execute(long id, Request request, List<String> warnings) {
        Instant started = Instant.now();
        Catalog catalog = catalogs.current();
        Stack stack = catalog.stack(request.stack()).orElseThrow(() -> new BuildException(catalog.problems(request.stack()).isEmpty()
                ? "no stack '" + request.stack() + "' in " + catalogDir
                : catalog.problems(request.stack()).stream().map(Problem::toString).collect(Collectors.joining("; "))));
        history.remember(new History.StackState(stack.name(), null, stack.target().repository(), stack.owner(), new History.Policy(
                stack.retention().keepLast(), stack.retention().keepDays(), stack.retention().keepPulledDays())));
        step(id, stack, "resolving");
        Optional<History.Good> previous = history.lastGood(stack.name(), target.name());
        Optional<Lock> published = previous.map(g -> g.lock() == null ? null : LockFile.fromJson(g.lock()));
        // no Release older, and no version lower, than the published image was made from, unless a platform user
        // granted this stack a re-base (a snapshot mirror): then once, recorded with their name and reason
        Optional<RebaseGrants.Grant> grant = request.lock().isPresent() ? Optional.empty() : rebases.open(stack.name());
        StackLocker.Outcome resolved = request.lock().isPresent() ? null
                : locker.resolve(catalog, stack, published, grant.map(g -> new DebianArchive.Rebase(g.by(), g.reason())).orElse(null));
        if (resolved != null && !resolved.ok()) {
            throw new BuildException(resolved.problems().stream().map(Problem::toString).collect(Collectors.joining("; ")));
        }
        Lock lock = resolved == null ? request.lock().get() : resolved.lock();
        if (grant.isPresent()) {
            log.info("build {} of {}: re-base granted by {} ({}): {}", id, stack.name(), grant.get().by(), grant.get().reason(),
                    resolved.rebased().isEmpty() ? "no Release went back" : resolved.rebased().stream()
                            .map(r -> r.archiveUrl() + " " + r.suite() + " " + r.from() + " -> " + r.to()).collect(Collectors.joining(", ")));
        }
        // a lock file is as the CLI found it: say whether locking now would change it, as lock --check would
        LockCheck lockCheck = null;
        if (request.lock().isPresent()) {
            step(id, stack, "checking the lock");
            lockCheck = LockCheck.of(locker.currencyForBuild(catalog, stack, lock));
            history.noted(id, new BuildReport(null, lockCheck));
            lockCheck.warnings().forEach(w -> log.warn("build {} of {}: {}", id, stack.name(), w));
        }
        if (lockCheck != null) {
            warnings.addAll(lockCheck.warnings());
        }
        String fingerprint = fingerprint(lock, configs(catalog, stack, lock));
        String repository = target.repository(stack.target().repository());
        history.resolved(id, new History.Inputs(fingerprint, lock.stackDigest(), lock.digest(), LockFile.toJson(lock), target.name(),
                repository));
        Optional<String> sourceUrl = CatalogRevision.of(catalog.directory()).flatMap(CatalogRevision::sourceUrl);
        history.recipe(id, Catalog.canonical(stack), buildSettings.recipe(sourceUrl));
        recorder.resolved(id, stack, lock);
        // a key configured since the image was made (or another key): sign it now, which takes a build
        boolean signedAsConfigured = attester.key().map(k -> k.id().equals(previous.map(History.Good::signingKeyId).orElse(null))).orElse(true);
        // a re-based build always publishes: the next builds are held to its lock's Releases, not the older image's
        if (request.tag().isEmpty() && previous.isPresent() && previous.get().fingerprint().equals(fingerprint) && signedAsConfigured
                && grant.isEmpty()) {
            step(id, stack, "checking the published image");
            if (target.tagged(repository, previous.get().tag()).map(previous.get().digest()::equals).orElse(false)) {
                history.upToDate(id, previous.get());
                meters.counter("kiln.ticks.up_to_date", "stack", stack.name()).increment();
                log.info("build {} of {}: up to date (fingerprint {}), {} unchanged, nothing pushed", id, stack.name(),
                        fingerprint.substring(0, 19), previous.get().reference());
                return new Outcome(id, "up-to-date", false, previous.get().reference(), null, warnings);
            }
            log.info("build {} of {}: inputs unchanged but {} is gone from {}; building again", id, stack.name(),
                    previous.get().reference(), target.name());
        }
        Lock before = published.orElse(null);
        List<Signer.Signed> signed = new ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<BuildRecorder.Measuring> measuring = new java.util.concurrent.atomic.AtomicReference<>();
        StackBuilder.Result result = builder.build(catalog, stack, lock, target, request.tag(), history.recordedTags(target.name(), repository),
                step -> step(id, stack, step), staged -> {
                    // what recording needs is made while the image is pushed: its layers measured and, for documents
                    // made at recording (unsigned), the SBOM libraries loaded
                    measuring.set(recorder.measure(staged.platforms().get(0).image(), attester.key().isEmpty()));
                    if (attester.key().isEmpty()) {
                        return List.of();
                    }
                    step(id, stack, "signing");
                    String subject = target.pullReference(staged.repository(), staged.image().digest())
                            .map(r -> r.substring(0, r.indexOf('@'))).orElse(staged.repository());
                    String commit = CatalogRevision.of(catalogDir).map(CatalogRevision::commit).orElse(null);
                    Attestations.Previous was = previous.map(g -> new Attestations.Previous(g.id(), g.digest(), g.reference())).orElse(null);
                    Instant now = Instant.now();
                    Attestations.Facts facts = new Attestations.Facts(id, stack, lock.stackDigest(), commit, lock, before, staged.composition(),
                            target.name(), staged.repository(), subject, staged.image().digest(), staged.tag(), kilnVersion, instance,
                            request.trigger(), request.who(), started, now, sourceUrl.orElse(null), buildSettings.text(), was);
                    signed.clear();
                    if (staged.index()) {
                        // each platform image is attested from its own view of the stack, the lock and the image before
                        List<Attester.Platform> platforms = staged.platforms().stream().map(p -> new Attester.Platform(p.architecture(),
                                new Attestations.Facts(id, stack.forArchitecture(p.architecture()), lock.stackDigest(), commit, p.lock(),
                                        platformView(before, p.architecture()), p.composition(), target.name(), staged.repository(), subject,
                                        p.image().digest(), staged.tag(), kilnVersion, instance, request.trigger(), request.who(), started, now,
                                        sourceUrl.orElse(null), buildSettings.text(), was),
                                p.image().descriptor())).toList();
                        signed.addAll(attester.signIndex(facts, staged.image().descriptor(), platforms));
                    } else {
                        signed.addAll(attester.sign(facts, staged.image().descriptor()));
                    }
                    step(id, stack, "attaching evidence");
                    return signed.stream().map(Signer.Signed::artifact).toList();
                });
        History.Signing evidence = null;
        if (attester.key().isPresent()) {
            step(id, stack, "verifying evidence");
            evidence = attester.check(target, repository, result.published().digest(), result.published().tag(), signed);
        }
        step(id, stack, "reviewing");
        Optional<ImageTarget.Review> review = target.review(repository, result.image());
        boolean held = review.map(ImageTarget.Review::holdsBack).orElse(false);
        List<Lock.Change> changes = lock.changesSince(before);
        step(id, stack, "recording");
        recorder.published(new BuildRecorder.Built(id, catalog, stack, lock, result, target, repository, previous, before,
                request.trigger(), request.who(), started, instance, kilnVersion, buildSettings.text(),
                attestedAbout(signed, result.platforms().get(0).image().digest())), measuring.get());
        history.succeeded(id, published(result, BuildReport.of(result, lockCheck), changes, previous.map(History.Good::id).orElse(null),
                held, review.map(ImageTarget.Review::evidence).orElse(null)), evidence);
        if (held) {
            log.warn("build {} of {}: held back by {}: {}", id, stack.name(), target.name(), review.get().reason());
            return new Outcome(id, "quarantined", false, result.published().reference() + ": " + review.get().reason(), result, warnings);
        }
        // a re-base is used up by the build that publishes with it; an image held back is not the stack's yet, so its grant stays
        grant.ifPresent(g -> rebases.used(g, id, resolved.rebased(), resolved.downgrades().size()));
        meters.counter("kiln.bytes.pushed", "stack", stack.name()).increment(result.published().bytesPushed());
        log.info("build {} of {} succeeded: {} {} ({} package change(s), {} bytes pushed)", id, stack.name(),
                result.published().reference(), result.published().digest(), changes.size(), result.published().bytesPushed());
        return new Outcome(id, "succeeded", false, result.published().reference(), result, warnings);
    }

    private void step(long id, Stack stack, String step) {
        log.info("build {} of {}: {}", id, stack.name(), step);
        Running current = running.get(id);
        if (current != null) {
            current.step = step;
        }
        if (current != null && step.equals("publishing")) {
            // one watch for the whole publication: signing and attaching are part of it
            WATCH.schedule(() -> {
                synchronized (current) {
                    if (!current.done && PUBLISHING.contains(current.step)) {
                        current.stalled = true;
                        current.thread.interrupt();
                    }
                }
            }, publishTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        boolean cancel = history.step(id, step);
        if (current != null && (cancel || current.cancel) && (INTERRUPTIBLE.contains(step) || PUBLISHING.contains(step))) {
            current.cancel = true;
            throw new Cancelled();
        }
    }

    /** The claims signed about {@code digest} (for an index: one platform image's, which the build's records show). */
    static List<dev.kiln.sign.Claim> attestedAbout(List<Signer.Signed> signed, String digest) {
        return signed.stream().filter(s -> s.artifact().subject() == null || s.artifact().subject().digest().equals(digest))
                .map(Signer.Signed::claim).toList();
    }

    /** A lock as one architecture had it: a platform's view of a lock of several, the lock itself if it is for that one, else null. */
    static Lock platformView(Lock lock, String architecture) {
        if (lock == null || !lock.builtFor().contains(architecture)) {
            return null;
        }
        return lock.multiArchitecture() ? lock.forArchitecture(architecture) : lock;
    }

    /**
     * The inputs an image is made from: the lock (which covers the stack definition), everything that goes
     * into its config (each platform's, for an image index), Kiln and its settings, the target. Equal
     * fingerprints mean equal images.
     */
    String fingerprint(Lock lock, Map<String, dev.kiln.publish.ImageConfig> configs) {
        StringBuilder config = new StringBuilder();
        configs.forEach((arch, c) -> config.append(lock.multiArchitecture() ? "config " + arch + " " : "config ").append(c).append('\n'));
        String text = "lock " + lock.digest() + "\nstack " + lock.stackDigest() + "\n" + config + "kiln " + kilnVersion
                + "\nsettings " + buildSettings.text() + "\ntarget " + target.name() + "\n";
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Each platform's image config as a build would write it (without its creation time), by architecture. */
    static Map<String, dev.kiln.publish.ImageConfig> configs(Catalog catalog, Stack stack, Lock lock) {
        Map<String, dev.kiln.publish.ImageConfig> configs = new java.util.LinkedHashMap<>();
        for (String arch : lock.builtFor()) {
            configs.put(arch, StackBuilder.config(catalog, stack.forArchitecture(arch), lock.forArchitecture(arch), java.time.Instant.EPOCH));
        }
        return configs;
    }

    /**
     * What the history keeps of a published image: its size and layers (an index's: every distinct layer
     * of its platforms once, each naming the platforms that use it) and, for an index, each platform image.
     */
    static History.Published published(StackBuilder.Result result, BuildReport report, List<Lock.Change> changes, Long previousBuild,
                                       boolean held, Object scan) {
        Map<String, Map<String, Object>> layers = new java.util.LinkedHashMap<>();
        List<Map<String, Object>> platforms = new java.util.ArrayList<>();
        for (StackBuilder.Platform p : result.platforms()) {
            Composition c = p.composition();
            for (Composition.Layer l : c.layers()) {
                Map<String, Object> layer = layers.computeIfAbsent(l.digest(), d -> {
                    Map<String, Object> m = new java.util.LinkedHashMap<>();
                    m.put("name", l.name());
                    m.put("digest", l.digest());
                    m.put("size", l.size());
                    m.put("uncompressedSize", l.uncompressedSize());
                    m.put("packages", l.packages());
                    if (result.index()) {
                        m.put("platforms", new java.util.ArrayList<String>());
                    }
                    return m;
                });
                if (result.index()) {
                    @SuppressWarnings("unchecked")
                    List<String> on = (List<String>) layer.get("platforms");
                    on.add(p.architecture());
                }
            }
            if (result.index()) {
                Map<String, Object> platform = new java.util.LinkedHashMap<>();
                platform.put("architecture", p.architecture());
                platform.put("platform", StackBuilder.platform(p.architecture()).name());
                platform.put("digest", p.image().digest());
                platform.put("compressedBytes", c.size());
                platform.put("uncompressedBytes", c.layers().stream().mapToLong(Composition.Layer::uncompressedSize).sum());
                platform.put("layers", c.layers().size());
                platform.put("packages", p.lock().packages().size());
                platform.put("lockDigest", p.lock().digest());
                platforms.add(platform);
            }
        }
        long compressed = layers.values().stream().mapToLong(l -> (Long) l.get("size")).sum();
        long uncompressed = layers.values().stream().mapToLong(l -> (Long) l.get("uncompressedSize")).sum();
        // the layer list as it has always been recorded for a single image
        List<Map<String, Object>> recorded = layers.values().stream().map(l -> {
            Map<String, Object> m = new java.util.LinkedHashMap<>(l);
            m.remove("uncompressedSize");
            return m;
        }).toList();
        Publisher.Published pub = result.published();
        return new History.Published(pub.digest(), pub.reference(), pub.tag(), pub.alreadyPresent(), compressed, uncompressed, recorded,
                pub.bytesPushed(), report, changes, previousBuild, held, scan, result.index() ? platforms : null);
    }

    private History.Request historyRequest(Request request) {
        return new History.Request(request.stack(), request.trigger(), request.who(),
                CatalogRevision.of(catalogDir).map(CatalogRevision::commit).orElse(null), kilnVersion, request.recoveredFrom(),
                request.attempt());
    }
}
