package dev.kiln.cli;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
import dev.kiln.database.Database;
import dev.kiln.history.AuditChain;
import dev.kiln.history.History;
import dev.kiln.rebuild.Rebuilds;
import dev.kiln.retire.RetentionPlanner;
import dev.kiln.retire.Retirer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import dev.kiln.debian.DebianArchive;
import dev.kiln.debian.DebianException;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.debian.PackageCache;
import dev.kiln.image.Composition;
import dev.kiln.publish.Target;
import dev.kiln.rebuild.BuildException;
import dev.kiln.rebuild.StackBuilder;
import dev.kiln.rebuild.StackLocker;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Locale;
import java.util.Optional;

/** The one-shot commands. Output for people on stdout; problems on stderr. */
final class Commands {

    private final KilnProperties properties;
    private final StackLocker locker;
    private final PackageCache packages;
    private final KilnConfiguration.Services services;
    private final Database.Settings databaseSettings;
    private final boolean allowPrivilegedRole;

    /** The database being opened for this command since it started, or null (opened when first needed). */
    private java.util.concurrent.CompletableFuture<Database> opening;

    /** @param opening the database already being opened (see {@link #open}), or null */
    Commands(KilnConfiguration.Services services, Database.Settings databaseSettings, boolean allowPrivilegedRole,
             java.util.concurrent.CompletableFuture<Database> opening) {
        this.properties = services.properties();
        this.locker = services.locker();
        this.packages = services.packages();
        this.services = services;
        this.databaseSettings = databaseSettings;
        this.allowPrivilegedRole = allowPrivilegedRole;
        this.opening = opening;
    }

    /** The commands that use the history database, whose opening is worth starting before anything else. */
    static final java.util.Set<String> WITH_DATABASE = java.util.Set.of("build", "history", "retire", "audit", "rebuild");

    /**
     * Opens (starting the embedded server, a process of its own) and migrates the database on another
     * thread, so that it starts while this JVM loads and wires the command: 0.5-1 s of every command's start.
     */
    static java.util.concurrent.CompletableFuture<Database> open(Database.Settings settings, java.nio.file.Path dataDir) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> Database.open(settings, dataDir, 2).migrate());
    }

    /** Closes a database opened for the command that the command did not take (it ended before it needed it). */
    void closeUnused() {
        close(opening);
        opening = null;
    }

    /** Waits for {@code opening} (null: nothing) and closes what it opened. */
    static void close(java.util.concurrent.CompletableFuture<Database> opening) {
        if (opening != null) {
            try {
                opening.join().close();
            } catch (RuntimeException e) {
                // it did not open: nothing to close, and the command's own outcome is what is reported
            }
        }
    }

    /**
     * The history database, migrated; like the service, a command refuses a role that could switch off
     * the append-only rule (unless kiln.database.allow-privileged-role is set).
     */
    private Database database(PrintStream err) {
        Database database;
        if (opening != null) {
            java.util.concurrent.CompletableFuture<Database> started = opening;
            opening = null;
            try {
                database = started.join();
            } catch (java.util.concurrent.CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        } else {
            database = Database.open(databaseSettings, properties.dataDir(), 2).migrate();
        }
        List<String> privileged = Database.privileges(database.dataSource());
        if (!privileged.isEmpty()) {
            if (!allowPrivilegedRole) {
                database.close();
                throw new Invocation.UsageException("the database role can switch off the append-only history ("
                        + String.join("; ", privileged) + "); connect as a role with only Kiln's grants (docs/service.md), "
                        + "or set --kiln.database.allow-privileged-role=true");
            }
            err.println("warning: " + String.join("; ", privileged));
        }
        return database;
    }

    int run(Invocation invocation, PrintStream out, PrintStream err) {
        return switch (invocation.command()) {
            case "validate" -> validate(invocation, out, err);
            case "lock" -> lock(invocation, out, err);
            case "build" -> build(invocation, out, err);
            case "history" -> history(invocation, out, err);
            case "retire" -> retire(invocation, out, err);
            case "verify" -> new EvidenceCommands(services, this::database).verify(invocation, out, err);
            case "key" -> new EvidenceCommands(services, this::database).key(invocation, out, err);
            case "rebuild" -> new EvidenceCommands(services, this::database).rebuild(invocation, out, err);
            case "audit" -> audit(invocation, out, err);
            default -> throw new Invocation.UsageException("unknown command " + invocation.command());
        };
    }

    private int validate(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags("offline");
        Catalog catalog = Catalog.load(properties.catalog(), KilnConfiguration.catalogRules(properties));
        List<String> names = selected(invocation.arguments(), catalog, false);
        List<Problem> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (String name : names) {
            problems.addAll(catalog.problems(name));
            Optional<Stack> stack = catalog.stack(name);
            if (stack.isPresent() && !invocation.flags().contains("offline")) {
                StackLocker.Outcome outcome = locker.resolve(catalog, stack.get());
                problems.addAll(outcome.problems());
                // the same question lock --check asks; a stack that does not resolve is compared offline
                StackLocker.Currency currency = locker.currency(catalog, stack.get(), outcome.ok() ? outcome : null);
                problems.addAll(currency.problems());
                currency.notes().forEach(n -> notes.add("note: " + LockFile.path(catalog.directory(), name) + ": " + n));
            }
        }
        if (names.isEmpty()) {
            problems.addAll(catalog.problems());
        }
        problems.forEach(err::println);
        notes.forEach(err::println);
        long bad = problems.stream().map(Problem::file).distinct().count();
        if (problems.isEmpty()) {
            out.println("ok: " + names.size() + " stack" + (names.size() == 1 ? "" : "s") + " valid"
                    + (invocation.flags().contains("offline") ? " (offline: packages and locks not checked)" : ""));
            return 0;
        }
        out.println(problems.size() + " problem" + (problems.size() == 1 ? "" : "s") + " in " + bad + " file" + (bad == 1 ? "" : "s"));
        return 1;
    }

    private int lock(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags("all", "check", "download");
        Catalog catalog = Catalog.load(properties.catalog(), KilnConfiguration.catalogRules(properties));
        boolean all = invocation.flags().contains("all");
        if (all == !invocation.arguments().isEmpty()) {
            throw new Invocation.UsageException("kiln lock: name the stacks to lock, or --all");
        }
        boolean check = invocation.flags().contains("check");
        String reason = invocation.options().get("rebase");
        if (reason != null && (reason.isBlank() || check)) {
            throw new Invocation.UsageException(check ? "kiln lock: --check writes nothing, so it cannot re-base"
                    : "kiln lock: --rebase needs a reason, for example --rebase=\"snapshot mirror of 2026-10-01 for an audit\"");
        }
        DebianArchive.Rebase rebase = reason == null ? null : new DebianArchive.Rebase("cli:" + System.getProperty("user.name"), reason);
        int failed = 0;
        for (String name : selected(invocation.arguments(), catalog, all)) {
            long start = System.nanoTime();
            Optional<Stack> stack = catalog.stack(name);
            if (stack.isEmpty()) {
                catalog.problems(name).forEach(err::println);
                err.println(name + ": invalid, not locked");
                failed++;
                continue;
            }
            StackLocker.Outcome outcome = locker.resolve(catalog, stack.get(), Optional.empty(), rebase);
            if (!outcome.ok()) {
                outcome.problems().forEach(err::println);
                err.println(name + ": not locked");
                failed++;
                continue;
            }
            Path file = LockFile.path(catalog.directory(), name);
            Lock lock = outcome.lock();
            StackLocker.Currency currency = locker.currency(catalog, stack.get(), outcome);
            Lock previous = currency.lock();
            List<Lock.Change> changes = lock.changesSince(previous);
            String state = previous == null ? "new" : currency.current() ? "unchanged" : "updated";
            if (check) {
                if (!currency.current()) {
                    currency.problems().forEach(err::println);
                    failed++;
                }
                currency.notes().forEach(n -> err.println("note: " + file + ": " + n));
            } else {
                if (previous == null && Files.exists(file)) {
                    currency.problems().forEach(p -> err.println(p + " (it will be replaced)"));
                }
                LockFile.write(file, lock);
            }
            int downloaded = 0;
            if (invocation.flags().contains("download")) {
                for (Lock.Package p : lock.allPackages()) {
                    if (!packages.contains(p)) {
                        packages.fetch(p);
                        downloaded++;
                    }
                }
            }
            long bytes = lock.allPackages().stream().mapToLong(Lock.Package::size).sum();
            out.printf(Locale.ROOT, "%-12s %4d packages %8.1f MB  %-9s %s%s  %.1f s%n", name, lock.allPackages().size(),
                    bytes / 1e6, state, check ? "(checked) " : "", file,
                    (System.nanoTime() - start) / 1e9);
            if (lock.multiArchitecture()) {
                out.println("  " + lock.packages().size() + " shared (Architecture: all), " + String.join(", ", lock.platforms().stream()
                        .map(p -> p.architecture() + " " + lock.forArchitecture(p.architecture()).packages().size()).toList()) + " packages each");
            }
            if (invocation.flags().contains("download")) {
                out.println("  downloaded " + downloaded + " package" + (downloaded == 1 ? "" : "s") + " into the cache");
            }
            changes.forEach(c -> out.println("  " + c));
            outcome.rebased().forEach(r -> out.println("  re-based " + r.archiveUrl() + " " + r.suite() + ": " + r.from() + " -> " + r.to()
                    + " by " + rebase.who() + ": " + rebase.why()));
            outcome.downgrades().forEach(d -> out.println("  downgrade accepted by the re-base: " + d));
        }
        return failed == 0 ? 0 : 1;
    }

    private int build(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags("all");
        Catalog catalog = Catalog.load(properties.catalog(), KilnConfiguration.catalogRules(properties));
        boolean all = invocation.flags().contains("all");
        if (all == !invocation.arguments().isEmpty()) {
            throw new Invocation.UsageException("kiln build: name the stacks to build, or --all");
        }
        Optional<String> tag = Optional.ofNullable(invocation.options().get("tag"));
        List<String> names = selected(invocation.arguments(), catalog, all);
        if (tag.isPresent() && names.size() != 1) {
            throw new Invocation.UsageException("kiln build: --tag names one image; build one stack with it");
        }
        try {
            Target.parse(properties.build().target());
        } catch (IllegalArgumentException e) {
            throw new Invocation.UsageException(e.getMessage());
        }
        int failed = 0;
        if (services.signingKey().isEmpty()) {
            err.println("kiln: no signing key configured (kiln.signing.key): images are published unsigned and recorded as unsigned");
        }
        try (Database database = database(err)) {
            History history = new History(database.dataSource());
            Rebuilds rebuilds = KilnConfiguration.rebuilds(services, database.dataSource(), cliInstance(), new SimpleMeterRegistry());
            String who = "cli:" + System.getProperty("user.name");
            for (String name : names) {
                Optional<Stack> stack = catalog.stack(name);
                if (stack.isEmpty()) {
                    catalog.problems(name).forEach(err::println);
                    err.println(name + ": invalid, not built");
                    failed++;
                    continue;
                }
                Lock lock;
                try {
                    lock = StackBuilder.lockFile(catalog, stack.get());
                } catch (BuildException | DebianException e) {
                    err.println(e.getMessage());
                    err.println(name + ": not built, nothing tagged");
                    failed++;
                    continue;
                }
                Rebuilds.Outcome o = rebuilds.run(new Rebuilds.Request(name, "manual", who, null, null, Optional.of(lock), tag));
                failed += report(name, o, history, out, err) ? 0 : 1;
                o.warnings().forEach(w -> err.println(name + ": warning: " + w));
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /** Prints one build's outcome; false when it failed. */
    private static boolean report(String name, Rebuilds.Outcome o, History history, PrintStream out, PrintStream err) {
        switch (o.status()) {
            case "failed" -> {
                for (String line : o.detail().split("; ")) {
                    err.println(name + ": " + line);
                }
                err.println(name + ": not built, nothing tagged (build " + o.build() + ")");
                return false;
            }
            case "up-to-date" -> {
                out.printf(Locale.ROOT, "%-10s %s  (up to date: nothing changed since it was built; nothing pushed)%n", name, o.detail());
                out.printf(Locale.ROOT, "  build %d, digest %s%n", o.build(),
                        history.build(o.build()).map(History.Build::imageDigest).orElse("?"));
                return true;
            }
            case "quarantined" -> {
                err.println(name + ": quarantined, not approved: " + o.detail() + " (build " + o.build() + ")");
                return false;
            }
            case "joined", "not-queued" -> {
                out.printf(Locale.ROOT, "%-10s build %d of this stack is already under way; not started twice%n", name, o.build());
                return true;
            }
            default -> {
                StackBuilder.Result r = o.result();
                out.printf(Locale.ROOT, "%-10s %s%n", name, r.published().reference()
                        + (r.published().alreadyPresent() ? "  (already published: same digest, nothing pushed)" : ""));
                String pushed = String.format(Locale.ROOT, "%.3f MB pushed (%d blobs uploaded, %d mounted), %.1f s", r.published().bytesPushed() / 1e6,
                        r.published().blobsUploaded(), r.published().blobsMounted(), r.seconds());
                if (r.index()) {
                    out.printf(Locale.ROOT, "  build %d, index %s with %d platforms, %s%n", o.build(), r.published().digest(),
                            r.platforms().size(), pushed);
                    for (StackBuilder.Platform p : r.platforms()) {
                        out.printf(Locale.ROOT, "  %s: digest %s%n", p.architecture(), p.image().digest());
                        printComposition(out, "    ", p, "");
                    }
                } else {
                    out.printf(Locale.ROOT, "  build %d, digest %s%n", o.build(), r.published().digest());
                    printComposition(out, "  ", r.only(), ", " + pushed);
                }
                history.build(o.build()).map(History.Build::packageDiff).filter(d -> d != null && !d.isEmpty())
                        .ifPresent(d -> out.println("  packages changed since the last build: " + d.size()));
                history.build(o.build()).ifPresent(b -> {
                    if (!b.signed()) {
                        out.println("  unsigned (no kiln.signing.key)");
                        return;
                    }
                    List<History.Evidence> evidence = history.evidence(b.id());
                    long images = evidence.stream().map(e -> String.valueOf(e.subjectDigest())).distinct().count();
                    out.println("  signed with key " + b.signingKeyId() + "; " + (images == 1 ? "signature and " + (evidence.size() - 1)
                            + " attestation(s)" : images + " signatures (the index and each platform image) and " + (evidence.size() - images)
                            + " attestation(s)") + " attached and verified on the target");
                });
                return true;
            }
        }
    }

    /** A platform's size, layers, packages and hardening, as two lines. */
    private static void printComposition(PrintStream out, String indent, StackBuilder.Platform p, String after) {
        Composition c = p.composition();
        long reused = c.layers().stream().filter(Composition.Layer::cached).count();
        out.printf(Locale.ROOT, "%ssize %.1f MB in %d layers (%d composed, %d from the layer cache), %d packages%s%n", indent,
                c.size() / 1e6, c.layers().size(), c.layers().size() - reused, reused, p.lock().packages().size(), after);
        Composition.Report report = c.report();
        out.printf(Locale.ROOT, "%shardening: %d setuid/setgid stripped, %d removed, %d tightened, %d files dropped%s; "
                        + "checked %d ELF files, %d library links%n", indent,
                report.setuidStripped().size(), report.removed().size(), report.tightened().size(), report.droppedFiles(),
                report.trimmed().isEmpty() ? "" : ", " + report.trimmed().size() + " left out of partly kept packages",
                report.elfFiles(), report.librariesResolved());
    }

    private int history(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags();
        int limit;
        try {
            limit = Integer.parseInt(invocation.options().getOrDefault("limit", "20"));
        } catch (NumberFormatException e) {
            throw new Invocation.UsageException("--limit needs a number, got '" + invocation.options().get("limit") + "'");
        }
        try (Database database = database(err)) {
            History history = new History(database.dataSource());
            List<History.Build> builds = history.recent(invocation.arguments(), limit <= 0 ? Integer.MAX_VALUE : limit);
            if (builds.isEmpty()) {
                out.println("no builds recorded yet");
                return 0;
            }
            out.printf(Locale.ROOT, "%-5s %-10s %-10s %-22s %-11s %-22s %-19s %9s %7s %s%n", "BUILD", "STACK", "STATUS", "TRIGGER",
                    "STARTED", "TAG", "DIGEST", "PUSHED", "SECONDS", "CHANGES");
            for (History.Build b : builds) {
                String tag = b.tags() != null && !b.tags().isEmpty() ? b.tags().get(0).asString()
                        : b.reference() != null ? b.reference().replaceFirst(".*:", "") : "-";
                String digest = b.imageDigest() == null ? "-" : b.imageDigest().substring(0, Math.min(19, b.imageDigest().length()));
                double seconds = b.startedAt() == null || b.finishedAt() == null ? 0
                        : java.time.Duration.between(b.startedAt(), b.finishedAt()).toMillis() / 1000.0;
                out.printf(Locale.ROOT, "%-5d %-10s %-10s %-22s %-11s %-22s %-19s %9s %7.1f %s%n", b.id(), b.stack(), b.status(),
                        abbreviate(b.trigger() + " " + b.triggeredBy(), 22),
                        b.requestedAt().toString().substring(5, 16).replace('T', ' '), abbreviate(tag, 22), digest,
                        b.bytesPushed() == null ? "-" : String.format(Locale.ROOT, "%.1f MB", b.bytesPushed() / 1e6), seconds,
                        b.packageDiff() == null ? "-" : Integer.toString(b.packageDiff().size()));
                if (b.failureReason() != null) {
                    out.println("      " + b.failureReason());
                }
            }
            return 0;
        }
    }

    private int retire(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags("dry-run", "all");
        boolean dryRun = invocation.flags().contains("dry-run");
        Catalog catalog = Catalog.load(properties.catalog(), KilnConfiguration.catalogRules(properties));
        List<String> names = invocation.arguments().isEmpty() ? catalog.names() : invocation.arguments();
        int failed = 0;
        try (Database database = database(err)) {
            History history = new History(database.dataSource());
            Retirer retirer = new Retirer(history, services.target(), java.time.Clock.systemUTC());
            Map<String, Retirer.Subject> recorded = new LinkedHashMap<>();
            retirer.outsideTheCatalog(Set.copyOf(catalog.stacks().stream().map(Stack::name).toList()))
                    .forEach(s -> recorded.put(s.name(), s));
            for (String name : names) {
                if (!catalog.names().contains(name) && !recorded.containsKey(name)) {
                    throw new Invocation.UsageException("no stack '" + name + "' in " + catalog.directory() + " or in the history"
                            + " (stacks: " + String.join(", ", catalog.names()) + ")");
                }
            }
            List<String> subjects = new ArrayList<>(names);
            if (invocation.arguments().isEmpty()) {
                // stacks removed from the catalog are still retired, by the policy they last had
                recorded.keySet().stream().filter(n -> !catalog.names().contains(n)).forEach(subjects::add);
            }
            for (String name : subjects) {
                Optional<Retirer.Subject> stack = catalog.stack(name).map(Retirer.Subject::of).or(() -> Optional.ofNullable(recorded.get(name)));
                if (stack.isEmpty()) {
                    err.println(name + ": invalid, skipped (" + catalog.problems(name).size() + " problem(s); see 'kiln validate')");
                    failed++;
                    continue;
                }
                if (catalog.stack(name).isEmpty()) {
                    out.println(name + ": " + (catalog.names().contains(name) ? "invalid in the catalog now" : "not in the catalog"
                            + (stack.get().removedAt() == null ? "" : " since " + stack.get().removedAt())) + "; retired by the policy it last had");
                }
                Retirer.Result result = dryRun ? null : retirer.retire(stack.get(), "cli:" + System.getProperty("user.name"));
                Retirer.Plan plan = dryRun ? retirer.plan(stack.get()) : result.plan();
                RetentionPlanner.Policy p = plan.policy();
                out.printf(Locale.ROOT, "%s  %s on %s  (keep the last %d, %d days, pulled within %d days%s)%n", name, plan.repository(),
                        plan.target(), p.keepLast(), p.keepDays(), p.keepPulledDays(), plan.pullTimesKnown() ? "" : "; pull times unknown here");
                for (RetentionPlanner.Decision d : plan.decisions()) {
                    out.printf(Locale.ROOT, "  %-6s %-24s %s  pushed %s  %s%n", d.keep() ? "keep" : "retire",
                            String.join(",", d.image().tags()), d.image().digest().substring(0, Math.min(19, d.image().digest().length())),
                            d.image().pushedAt().toString().substring(0, 10), d.reason());
                }
                if (dryRun) {
                    out.println("  dry run: " + plan.retiring().size() + " to retire, nothing deleted");
                } else {
                    out.println("  retired " + result.retired().size() + (result.resumed().isEmpty() ? ""
                            : ", finished " + result.resumed().size() + " left from an earlier run"));
                    result.failed().forEach((tag, why) -> err.println(name + ": " + tag + " not retired: " + why));
                    failed += result.failed().isEmpty() ? 0 : 1;
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private int audit(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags();
        if (!invocation.arguments().equals(List.of("verify"))) {
            throw new Invocation.UsageException("kiln audit: the one subcommand is 'verify'");
        }
        try (Database database = database(err)) {
            AuditChain.Verification v = new AuditChain(database.dataSource()).verify();
            if (v.intact()) {
                out.printf(Locale.ROOT, "audit chain intact: %d rows, seq 1 to %d, head %s%n", v.rows(), v.headSeq(), v.headHash());
                return 0;
            }
            AuditChain.Break b = v.broken().orElseThrow();
            err.printf(Locale.ROOT, "audit chain broken at row %d (seq %d, %s, %s %s %s): %s%n", b.id(), b.seq(), b.at(), b.actor(),
                    b.action(), b.subject(), b.reason());
            out.printf(Locale.ROOT, "%d rows intact before it; the database records the chain's end at seq %d, head %s%n", v.rows(),
                    v.headSeq(), v.headHash());
            return 1;
        }
    }

    private static String abbreviate(String text, int width) {
        return text.length() <= width ? text : text.substring(0, width - 1) + "…";
    }

    static String cliInstance() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            host = "localhost";
        }
        return "cli@" + host + ":" + ProcessHandle.current().pid();
    }

    private static List<String> selected(List<String> requested, Catalog catalog, boolean all) {
        if (all || requested.isEmpty()) {
            return catalog.names();
        }
        for (String name : requested) {
            if (!catalog.names().contains(name)) {
                throw new Invocation.UsageException("no stack '" + name + "' in " + catalog.directory()
                        + " (stacks: " + String.join(", ", catalog.names()) + ")");
            }
        }
        return requested;
    }
}
