package dev.kiln.history;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The provenance record in PostgreSQL: stacks, builds, tags and the audit trail. Every build is a row
 * from the moment it is asked for; it ends succeeded, up to date or failed, never deleted (the schema
 * refuses deletes). Writes that belong together (a build's result, its tag, the stack's approved image)
 * commit together or not at all.
 */
public final class History {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    static final String SUMMARY_COLUMNS = """
            id, stack, trigger, triggered_by, catalog_revision, kiln_version, instance, requested_at, started_at, finished_at,
            status, step, failure_reason, stack_digest, lock_digest, fingerprint, target, repository, image_digest, reference,
            tags, compressed_bytes, uncompressed_bytes, bytes_pushed, package_diff, previous_build_id, recovered_from, attempt,
            cancel_requested_at, cancel_requested_by, cancel_reason, signed, signing_key_id, platforms""";

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;

    public History(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    // ---- the catalog -------------------------------------------------------------------------

    /** A stack as the catalog defines it now; {@code policy} is its retention policy (null when unknown). */
    public record StackState(String name, String definitionDigest, String repository, String owner, Policy policy) {
        public StackState(String name, String definitionDigest, String repository, String owner) {
            this(name, definitionDigest, repository, owner, null);
        }
    }

    /** A retention policy as recorded: what a stack's images are retired by once it left the catalog. */
    public record Policy(int keepLast, int keepDays, int keepPulledDays) {
    }

    /**
     * Records the catalog as seen now: new stacks, changed definitions, stacks gone from the catalog.
     * {@code present} names every stack file, valid or not: an invalid stack is not "removed".
     * Returns the names whose definition changed since it was last seen (new ones included).
     */
    public List<String> syncCatalog(List<StackState> stacks, java.util.Set<String> present, String actor) {
        return transactions.execute(status -> {
            // one sync at a time across instances, so a change is recorded (and built) once
            jdbc.sql("SELECT pg_advisory_xact_lock(7042001)").query((rs, n) -> 0).list();
            List<String> changed = new java.util.ArrayList<>();
            Map<String, String> known = new java.util.HashMap<>();
            jdbc.sql("SELECT name, coalesce(definition_digest, '') AS d FROM stack WHERE removed_at IS NULL")
                    .query((rs, n) -> known.put(rs.getString("name"), rs.getString("d"))).list();
            for (StackState s : stacks) {
                String before = known.remove(s.name());
                Policy p = s.policy();
                jdbc.sql("""
                                INSERT INTO stack (name, definition_digest, repository, owner, keep_last, keep_days, keep_pulled_days)
                                VALUES (?, ?, ?, ?, ?, ?, ?)
                                ON CONFLICT (name) DO UPDATE SET definition_digest = excluded.definition_digest,
                                  repository = excluded.repository, owner = excluded.owner, last_seen = now(), removed_at = NULL,
                                  keep_last = coalesce(excluded.keep_last, stack.keep_last),
                                  keep_days = coalesce(excluded.keep_days, stack.keep_days),
                                  keep_pulled_days = coalesce(excluded.keep_pulled_days, stack.keep_pulled_days)""")
                        .params(s.name(), s.definitionDigest(), s.repository(), s.owner(), p == null ? null : p.keepLast(),
                                p == null ? null : p.keepDays(), p == null ? null : p.keepPulledDays()).update();
                if (before == null) {
                    audit(actor, "stack.added", s.name(), Map.of("definitionDigest", s.definitionDigest()));
                    changed.add(s.name());
                } else if (!before.equals(s.definitionDigest())) {
                    audit(actor, "stack.changed", s.name(), Map.of("from", before, "to", s.definitionDigest()));
                    changed.add(s.name());
                }
            }
            for (String gone : known.keySet()) {
                if (present.contains(gone)) {
                    continue;
                }
                jdbc.sql("UPDATE stack SET removed_at = now() WHERE name = ?").param(gone).update();
                audit(actor, "stack.removed", gone, Map.of());
            }
            return changed;
        });
    }

    // ---- a build's life ----------------------------------------------------------------------

    /**
     * Who asked for a build and how. {@code recoveredFrom} is the build this one recovers (its instance
     * died, or an outage interrupted it); {@code attempt} numbers the retries after an outage.
     */
    public record Request(String stack, String trigger, String triggeredBy, String catalogRevision, String kilnVersion,
                          Long recoveredFrom, Integer attempt) {
        public Request(String stack, String trigger, String triggeredBy, String catalogRevision, String kilnVersion, Long recoveredFrom) {
            this(stack, trigger, triggeredBy, catalogRevision, kilnVersion, recoveredFrom, null);
        }
    }

    /** The build row a request got: a new one, or the build already queued or running for that stack. */
    public record Ticket(long id, boolean joined) {
    }

    /**
     * Opens a build for the request, {@code queued} (someone else will run it) or {@code running} on
     * {@code instance}. If the stack already has a queued or running build, that one is returned instead.
     * Openings take turns across the cluster (a transaction-scoped advisory lock), so the active build is
     * looked up before anything is inserted and ids are {@code max(id) + 1}: a join, or an insert that
     * fails and rolls back, uses up no build id (a sequence would have).
     */
    public Ticket open(Request request, boolean running, String instance) {
        return transactions.execute(status -> {
            jdbc.sql("SELECT pg_advisory_xact_lock(7042002)").query((rs, n) -> 0).list();
            Optional<Long> active = active(request.stack());
            if (active.isPresent()) {
                return new Ticket(active.get(), true);
            }
            jdbc.sql("INSERT INTO stack (name) VALUES (?) ON CONFLICT (name) DO NOTHING").param(request.stack()).update();
            long id = jdbc.sql("SELECT coalesce(max(id), 0) + 1 FROM build").query(Long.class).single();
            jdbc.sql("""
                            INSERT INTO build (id, stack, trigger, triggered_by, catalog_revision, kiln_version, recovered_from, attempt,
                              status, instance, started_at, heartbeat_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? THEN now() END, now())""")
                    .params(id, request.stack(), request.trigger(), request.triggeredBy(), request.catalogRevision(),
                            request.kilnVersion(), request.recoveredFrom(), request.attempt(), running ? "running" : "queued",
                            running ? instance : null, running)
                    .update();
            audit(request.triggeredBy(), "build.requested", request.stack(), request.attempt() == null
                    ? Map.of("build", id, "trigger", request.trigger())
                    : Map.of("build", id, "trigger", request.trigger(), "attempt", request.attempt(), "retryOf", request.recoveredFrom()));
            return new Ticket(id, false);
        });
    }

    /**
     * Records what retirement needs of a stack as it is built (its repository, owner and policy), so
     * that a stack later removed from the catalog is retired by the policy it last had even where no
     * catalog sync ran (the CLI). The definition digest stays the catalog sync's to track.
     */
    public void remember(StackState s) {
        Policy p = s.policy();
        jdbc.sql("""
                        UPDATE stack SET repository = ?, owner = ?, keep_last = ?, keep_days = ?, keep_pulled_days = ?
                        WHERE name = ? AND (repository, owner, keep_last, keep_days, keep_pulled_days)
                          IS DISTINCT FROM (?, ?, ?, ?, ?)""")
                .params(s.repository(), s.owner(), p.keepLast(), p.keepDays(), p.keepPulledDays(), s.name(),
                        s.repository(), s.owner(), p.keepLast(), p.keepDays(), p.keepPulledDays())
                .update();
    }

    /** Whether a build of the stack after {@code build} has finished with an image (a retry of it is then moot). */
    public boolean rebuiltSince(String stack, long build) {
        return jdbc.sql("""
                        SELECT EXISTS (SELECT 1 FROM build WHERE stack = ? AND id > ?
                          AND status IN ('succeeded', 'up-to-date', 'quarantined'))""")
                .params(stack, build).query(Boolean.class).single();
    }

    /** A stack's running build: its instance and when that instance last reported it. */
    public record Running(long id, String instance, Instant heartbeatAt) {
    }

    public Optional<Running> running(String stack) {
        return jdbc.sql("SELECT id, instance, heartbeat_at FROM build WHERE stack = ? AND status = 'running'")
                .param(stack).query((rs, n) -> new Running(rs.getLong("id"), rs.getString("instance"), instant(rs, "heartbeat_at")))
                .optional();
    }

    public Optional<Long> active(String stack) {
        return jdbc.sql("SELECT id FROM build WHERE stack = ? AND status IN ('queued', 'running')").param(stack)
                .query(Long.class).optional();
    }

    /** Takes a queued build to running on {@code instance}; false if it is no longer queued. */
    public boolean start(long id, String instance) {
        return jdbc.sql("""
                        UPDATE build SET status = 'running', instance = ?, started_at = now(), heartbeat_at = now()
                        WHERE id = ? AND status = 'queued'""")
                .params(instance, id).update() == 1;
    }

    /** Records the step a running build reached; true when someone asked to cancel it. */
    public boolean step(long id, String step) {
        return jdbc.sql("""
                        UPDATE build SET step = ?, heartbeat_at = now() WHERE id = ? AND status = 'running'
                        RETURNING cancel_requested_at IS NOT NULL""")
                .params(step, id).query(Boolean.class).optional().orElse(false);
    }

    /** Reports these running builds alive; returns those someone asked to cancel. */
    public List<Long> heartbeat(List<Long> ids) {
        if (ids.isEmpty()) {
            return List.of();
        }
        return jdbc.sql("""
                        UPDATE build SET heartbeat_at = now() WHERE status = 'running' AND id = ANY(?)
                        RETURNING id, cancel_requested_at IS NOT NULL AS cancel""")
                .param(ids.toArray(Long[]::new))
                .query((rs, n) -> rs.getBoolean("cancel") ? rs.getLong("id") : null).list().stream()
                .filter(java.util.Objects::nonNull).toList();
    }

    /** Whether the database answers (a retry after its outage waits for this). */
    public boolean reachable() {
        try {
            return jdbc.sql("SELECT 1").query(Integer.class).single() == 1;
        } catch (org.springframework.dao.DataAccessException | org.springframework.transaction.TransactionException e) {
            return false;
        }
    }

    /** What a cancel request did: {@code status} is the build's status after it; {@code changed} is false when it had ended. */
    public record Cancel(long id, String status, boolean changed) {
    }

    /**
     * Asks to cancel a build. A queued build is cancelled at once; a running one is marked, and its
     * instance stops it and ends it {@code cancelled} (see {@link #cancelled}); a build that has ended is
     * left as it is. Empty when there is no such build.
     */
    public Optional<Cancel> requestCancel(long id, String by, String reason) {
        return transactions.execute(status -> {
            Optional<String> current = jdbc.sql("SELECT status FROM build WHERE id = ? FOR UPDATE").param(id).query(String.class).optional();
            if (current.isEmpty()) {
                return Optional.<Cancel>empty();
            }
            String stack = jdbc.sql("SELECT stack FROM build WHERE id = ?").param(id).query(String.class).single();
            switch (current.get()) {
                case "queued" -> {
                    jdbc.sql("""
                                    UPDATE build SET status = 'cancelled', finished_at = now(), cancel_requested_at = now(),
                                      cancel_requested_by = ?, cancel_reason = ? WHERE id = ?""")
                            .params(by, reason, id).update();
                    audit(by, "build.cancelled", stack, Map.of("build", id, "reason", reason, "was", "queued"));
                    return Optional.of(new Cancel(id, "cancelled", true));
                }
                case "running" -> {
                    int marked = jdbc.sql("""
                                    UPDATE build SET cancel_requested_at = now(), cancel_requested_by = ?, cancel_reason = ?
                                    WHERE id = ? AND cancel_requested_at IS NULL""")
                            .params(by, reason, id).update();
                    if (marked > 0) {
                        audit(by, "build.cancel-requested", stack, Map.of("build", id, "reason", reason));
                    }
                    return Optional.of(new Cancel(id, "running", marked > 0));
                }
                default -> {
                    return Optional.of(new Cancel(id, current.get(), false));
                }
            }
        });
    }

    /** Its instance stopped a build someone asked to cancel: it ends {@code cancelled}, and the audit says by whom. */
    public void cancelled(long id, String step) {
        transactions.executeWithoutResult(status -> {
            Map<String, Object> row = jdbc.sql("""
                            UPDATE build SET status = 'cancelled', finished_at = now(), step = coalesce(?, step)
                            WHERE id = ? AND status = 'running' RETURNING stack, cancel_requested_by, cancel_reason""")
                    .params(step, id).query().listOfRows().stream().findFirst().orElse(null);
            if (row != null) {
                audit(String.valueOf(row.get("cancel_requested_by")), "build.cancelled", (String) row.get("stack"),
                        Map.of("build", id, "reason", String.valueOf(row.get("cancel_reason")), "at", step == null ? "" : step));
            }
        });
    }

    public void failed(long id, String reason) {
        jdbc.sql("""
                        UPDATE build SET status = 'failed', failure_reason = ?, finished_at = now()
                        WHERE id = ? AND status IN ('queued', 'running')""")
                .params(reason, id).update();
    }

    /** What was resolved, whether or not it is then built. */
    public record Inputs(String fingerprint, String stackDigest, String lockDigest, Object lock, String target, String repository) {
    }

    public void resolved(long id, Inputs inputs) {
        jdbc.sql("""
                        UPDATE build SET fingerprint = ?, stack_digest = ?, lock_digest = ?, lock = ?::jsonb, target = ?, repository = ?
                        WHERE id = ?""")
                .params(inputs.fingerprint(), inputs.stackDigest(), inputs.lockDigest(), json(inputs.lock()), inputs.target(),
                        inputs.repository(), id)
                .update();
    }

    /**
     * What an independent rebuild needs besides the lock: the stack definition as canonical JSON (whose
     * SHA-256 is the recorded stack digest) and the settings that shape the image.
     */
    public void recipe(long id, String stackDefinition, Object buildSettings) {
        jdbc.sql("UPDATE build SET stack_definition = ?, build_settings = ?::jsonb WHERE id = ?")
                .params(stackDefinition, json(buildSettings), id).update();
    }

    /**
     * Facts about the build known before it publishes anything (how current the lock file it was asked
     * to build was), kept in its report; {@link #succeeded} replaces the report with the full one.
     */
    public void noted(long id, Object report) {
        jdbc.sql("UPDATE build SET report = ?::jsonb WHERE id = ?").params(json(report), id).update();
    }

    /** Nothing changed since {@code previous}: the build ends without pushing anything. */
    public void upToDate(long id, Good previous) {
        jdbc.sql("""
                        UPDATE build SET status = 'up-to-date', finished_at = now(), image_digest = ?, reference = ?, bytes_pushed = 0,
                          previous_build_id = ?, package_diff = '[]'::jsonb,
                          platforms = (SELECT platforms FROM build WHERE id = ?)
                        WHERE id = ? AND status = 'running'""")
                .params(previous.digest(), previous.reference(), previous.id(), previous.id(), id).update();
    }

    /**
     * A published image and what it took. {@code platforms} lists the platform images of an image index
     * (architecture, digest, layers ...), null for a single image.
     */
    public record Published(String digest, String reference, String tag, boolean alreadyPresent, long compressedBytes,
                            long uncompressedBytes, Object layers, long bytesPushed, Object report, Object packageDiff,
                            Long previousBuildId, boolean quarantined, Object scan, Object platforms) {

        public Published(String digest, String reference, String tag, boolean alreadyPresent, long compressedBytes,
                         long uncompressedBytes, Object layers, long bytesPushed, Object report, Object packageDiff,
                         Long previousBuildId, boolean quarantined, Object scan) {
            this(digest, reference, tag, alreadyPresent, compressedBytes, uncompressedBytes, layers, bytesPushed, report, packageDiff,
                    previousBuildId, quarantined, scan, null);
        }
    }

    /** A build's signing: the key and the evidence attached, signature included (null: unsigned). */
    public record Signing(String keyId, List<Evidence> evidence) {
        public Signing {
            evidence = List.copyOf(evidence);
        }
    }

    /**
     * One signed statement attached to an image: a signature or an attestation, with its bundle.
     * {@code subjectDigest} is the image it is about: null for the build's image, a platform image's
     * digest for the evidence of one platform of an index.
     */
    public record Evidence(String predicateType, String cosignType, String artifactDigest, String bundleDigest, String predicateDigest,
                           String keyId, byte[] bundle, String subjectDigest) {
        public Evidence {
            bundle = bundle.clone();
        }

        public Evidence(String predicateType, String cosignType, String artifactDigest, String bundleDigest, String predicateDigest,
                        String keyId, byte[] bundle) {
            this(predicateType, cosignType, artifactDigest, bundleDigest, predicateDigest, keyId, bundle, null);
        }

        @Override
        public byte[] bundle() {
            return bundle.clone();
        }
    }

    /**
     * Records the image, its tag and (unless the scan gate quarantined it) the stack's new approved
     * image in one transaction.
     */
    public void succeeded(long id, Published p) {
        succeeded(id, p, null);
    }

    /** As above, with the build's signature and attestations ({@code signing} null: the build is unsigned). */
    public void succeeded(long id, Published p, Signing signing) {
        transactions.executeWithoutResult(status -> {
            if (signing != null) {
                jdbc.sql("UPDATE build SET signed = true, signing_key_id = ? WHERE id = ?").params(signing.keyId(), id).update();
                signing.evidence().forEach(e -> insertEvidence(id, e));
            }
            int updated = jdbc.sql("""
                            UPDATE build SET status = ?, finished_at = now(), image_digest = ?, reference = ?, tags = ?::jsonb,
                              compressed_bytes = ?, uncompressed_bytes = ?, layers = ?::jsonb, bytes_pushed = ?, report = ?::jsonb,
                              package_diff = ?::jsonb, previous_build_id = ?, scan = ?::jsonb, platforms = ?::jsonb
                            WHERE id = ? AND status = 'running'""")
                    .params(p.quarantined() ? "quarantined" : "succeeded", p.digest(), p.reference(), json(List.of(p.tag())),
                            p.compressedBytes(), p.uncompressedBytes(), json(p.layers()), p.bytesPushed(), json(p.report()),
                            json(p.packageDiff()), p.previousBuildId(), json(p.scan()), json(p.platforms()), id)
                    .update();
            if (updated != 1) {
                throw new IllegalStateException("build " + id + " is no longer running (marked failed meanwhile?)");
            }
            jdbc.sql("""
                            INSERT INTO image_tag (target, repository, tag, digest, build_id)
                            SELECT target, repository, ?, ?, id FROM build WHERE id = ?
                            ON CONFLICT (target, repository, tag) DO NOTHING""")
                    .params(p.tag(), p.digest(), id).update();
            if (!p.quarantined()) {
                jdbc.sql("UPDATE stack SET current_build_id = ? WHERE name = (SELECT stack FROM build WHERE id = ?)").params(id, id).update();
            }
        });
    }

    private long insertEvidence(long build, Evidence e) {
        return jdbc.sql("""
                        INSERT INTO evidence (build_id, predicate_type, cosign_type, artifact_digest, bundle_digest, predicate_digest, key_id, bundle,
                                              subject_digest)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""")
                .params(build, e.predicateType(), e.cosignType(), e.artifactDigest(), e.bundleDigest(), e.predicateDigest(), e.keyId(), e.bundle(),
                        e.subjectDigest())
                .query(Long.class).single();
    }

    /** A build's evidence as attached, oldest first (its bundles included). */
    public List<Evidence> evidence(long build) {
        return jdbc.sql("""
                        SELECT predicate_type, cosign_type, artifact_digest, bundle_digest, predicate_digest, key_id, bundle, subject_digest
                        FROM evidence WHERE build_id = ? ORDER BY id""")
                .param(build)
                .query((rs, n) -> new Evidence(rs.getString("predicate_type"), rs.getString("cosign_type"), rs.getString("artifact_digest"),
                        rs.getString("bundle_digest"), rs.getString("predicate_digest"), rs.getString("key_id"), rs.getBytes("bundle"),
                        rs.getString("subject_digest")))
                .list();
    }

    /** The inputs an independent rebuild starts from. */
    public record Recipe(long build, String stack, String kilnVersion, String target, String repository, String imageDigest, String tag,
                         String stackDigest, String stackDefinition, String lock, String buildSettings, String signingKeyId) {
    }

    public Optional<Recipe> recipe(long build) {
        return jdbc.sql("""
                        SELECT id, stack, kiln_version, target, repository, image_digest, tags->>0 AS tag, stack_digest, stack_definition,
                          lock::text AS lock, build_settings::text AS settings, signing_key_id
                        FROM build WHERE id = ? AND status IN ('succeeded', 'quarantined')""")
                .param(build)
                .query((rs, n) -> new Recipe(rs.getLong("id"), rs.getString("stack"), rs.getString("kiln_version"), rs.getString("target"),
                        rs.getString("repository"), rs.getString("image_digest"), rs.getString("tag"), rs.getString("stack_digest"),
                        rs.getString("stack_definition"), rs.getString("lock"), rs.getString("settings"), rs.getString("signing_key_id")))
                .optional();
    }

    /** An independent rebuild's outcome ({@code evidence}: the attestation attached for it, or null). */
    public record Reproduction(long build, String instance, String kilnVersion, String requestedBy, Instant startedAt, Instant finishedAt,
                               String outcome, String rebuiltDigest, String detail, Evidence evidence) {
    }

    /** Records a rebuild check, with the attestation attached for it, in one transaction. */
    public void reproduced(Reproduction r) {
        transactions.executeWithoutResult(status -> {
            Long evidence = r.evidence() == null ? null : insertEvidence(r.build(), r.evidence());
            jdbc.sql("""
                            INSERT INTO reproduction (build_id, instance, kiln_version, requested_by, started_at, outcome, rebuilt_digest, detail, evidence_id)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""")
                    .params(r.build(), r.instance(), r.kilnVersion(), r.requestedBy(), Timestamp.from(r.startedAt()), r.outcome(),
                            r.rebuiltDigest(), r.detail(), evidence)
                    .update();
            audit(r.requestedBy(), "build.reproduction", "build " + r.build(), Map.of("outcome", r.outcome(), "instance", r.instance(),
                    "digest", r.rebuiltDigest() == null ? "" : r.rebuiltDigest()));
        });
    }

    public List<Reproduction> reproductions(long build) {
        return jdbc.sql("""
                        SELECT instance, kiln_version, requested_by, started_at, finished_at, outcome, rebuilt_digest, detail
                        FROM reproduction WHERE build_id = ? ORDER BY id""")
                .param(build)
                .query((rs, n) -> new Reproduction(build, rs.getString("instance"), rs.getString("kiln_version"), rs.getString("requested_by"),
                        instant(rs, "started_at"), instant(rs, "finished_at"), rs.getString("outcome"), rs.getString("rebuilt_digest"),
                        rs.getString("detail"), null))
                .list();
    }

    /** The builds that published the image {@code digest} (newest first): whose evidence it should carry. */
    public List<Long> buildsOf(String digest) {
        return jdbc.sql("SELECT id FROM build WHERE image_digest = ? AND status IN ('succeeded', 'quarantined') ORDER BY id DESC")
                .param(digest).query(Long.class).list();
    }

    /**
     * The image the stack's newest good build left on a target: what an unchanged tick compares against.
     * {@code id} is the build that made the image.
     */
    public record Good(long id, String fingerprint, String digest, String reference, String tag, String lock, String signingKeyId) {
    }

    public Optional<Good> lastGood(String stack, String target) {
        // an up-to-date build points at the build that made its image; a retired tag is no good image
        return jdbc.sql("""
                        SELECT x.image_build, x.fingerprint, i.image_digest, i.reference, t.tag, i.lock::text AS lock, i.signing_key_id
                        FROM (SELECT CASE WHEN status = 'up-to-date' THEN previous_build_id ELSE id END AS image_build, fingerprint
                              FROM build WHERE stack = ? AND target = ? AND status IN ('succeeded', 'up-to-date')
                              ORDER BY id DESC LIMIT 1) x
                        JOIN build i ON i.id = x.image_build
                        JOIN image_tag t ON t.target = i.target AND t.repository = i.repository AND t.tag = i.tags->>0
                          AND t.digest = i.image_digest AND t.retired_at IS NULL""")
                .params(stack, target)
                .query((rs, n) -> new Good(rs.getLong("image_build"), rs.getString("fingerprint"), rs.getString("image_digest"),
                        rs.getString("reference"), rs.getString("tag"), rs.getString("lock"), rs.getString("signing_key_id")))
                .optional();
    }

    /**
     * Marks failed every running build whose instance stopped reporting for {@code staleAfter}, and every
     * queued build nobody started within {@code queuedFor}. Returns the builds marked.
     */
    public List<Long> abandonStale(Duration staleAfter, Duration queuedFor) {
        return jdbc.sql("""
                        UPDATE build SET status = 'failed', finished_at = now(),
                          failure_reason = CASE WHEN status = 'running'
                            THEN 'abandoned: instance ' || coalesce(instance, '?') || ' stopped reporting at ' || heartbeat_at
                            ELSE 'abandoned: queued at ' || requested_at || ' and never started' END
                        WHERE (status = 'running' AND heartbeat_at < now() - make_interval(secs => ?))
                           OR (status = 'queued' AND requested_at < now() - make_interval(secs => ?))
                        RETURNING id""")
                .params(staleAfter.toSeconds(), queuedFor.toSeconds()).query(Long.class).list();
    }

    /** Marks failed the stack's running build of another, dead instance (its job is being recovered). */
    public List<Long> abandon(String stack, String deadInstanceOtherThan, String reason) {
        return jdbc.sql("""
                        UPDATE build SET status = 'failed', finished_at = now(), failure_reason = ?
                        WHERE stack = ? AND status IN ('queued', 'running') AND coalesce(instance, '') <> ? RETURNING id""")
                .params(reason, stack, deadInstanceOtherThan).query(Long.class).list();
    }

    // ---- retirement and pins ------------------------------------------------------------------

    /** A live (not retired) tag of a stack on a target; {@code pin} is "who: why" while pinned. */
    public record LiveTag(long id, String repository, String tag, String digest, long build, Instant pushedAt, String pin) {
    }

    /**
     * Every tag Kiln ever recorded in {@code repository} on {@code target}, retired ones included: a tag
     * name is never given to a second image, even after the first was retired and deleted.
     */
    public java.util.Set<String> recordedTags(String target, String repository) {
        return java.util.Set.copyOf(jdbc.sql("SELECT tag FROM image_tag WHERE target = ? AND repository = ?")
                .params(target, repository).query(String.class).list());
    }

    public List<LiveTag> liveTags(String stack, String target) {
        return jdbc.sql("""
                        SELECT t.id, t.repository, t.tag, t.digest, t.build_id, t.pushed_at, p.pinned_by || ': ' || left(p.reason, 1000) AS pin
                        FROM image_tag t JOIN build b ON b.id = t.build_id
                        LEFT JOIN pin p ON p.image_tag_id = t.id AND p.unpinned_at IS NULL
                        WHERE b.stack = ? AND t.target = ? AND t.retired_at IS NULL ORDER BY t.id""")
                .params(stack, target)
                .query((rs, n) -> new LiveTag(rs.getLong("id"), rs.getString("repository"), rs.getString("tag"), rs.getString("digest"),
                        rs.getLong("build_id"), instant(rs, "pushed_at"), rs.getString("pin")))
                .list();
    }

    /** Records the decision to retire a tag, before anything is deleted; a retirement already planned is reused. */
    public void retirementPlanned(long tagId, String by, String reason) {
        jdbc.sql("""
                        INSERT INTO retirement (image_tag_id, planned_by, reason) VALUES (?, ?, ?)
                        ON CONFLICT (image_tag_id) WHERE cancelled_at IS NULL DO NOTHING""")
                .params(tagId, by, reason).update();
    }

    /** The image is gone from the target: the retirement is done and the tag marked retired, together. */
    public void retirementDone(long tagId) {
        transactions.executeWithoutResult(status -> {
            Map<String, Object> r = jdbc.sql("""
                            UPDATE retirement SET done_at = now(), error = NULL
                            WHERE image_tag_id = ? AND done_at IS NULL AND cancelled_at IS NULL RETURNING planned_by, reason""").param(tagId).query().singleRow();
            jdbc.sql("UPDATE image_tag SET retired_at = now(), retired_reason = ?, retired_by = ? WHERE id = ?")
                    .params(r.get("reason"), r.get("planned_by"), tagId).update();
            String subject = jdbc.sql("SELECT repository || ':' || tag FROM image_tag WHERE id = ?").param(tagId).query(String.class).single();
            audit((String) r.get("planned_by"), "tag.retired", subject, Map.of("reason", r.get("reason")));
        });
    }

    /** A retirement left undone whose image the policy now keeps (pinned since, say): it will not happen. */
    public void retirementCancelled(long tagId, String why) {
        jdbc.sql("UPDATE retirement SET cancelled_at = now(), error = ? WHERE image_tag_id = ? AND done_at IS NULL AND cancelled_at IS NULL")
                .params(why, tagId).update();
    }

    public void retirementFailed(long tagId, String error) {
        jdbc.sql("UPDATE retirement SET error = ? WHERE image_tag_id = ? AND done_at IS NULL AND cancelled_at IS NULL")
                .params(error, tagId).update();
    }

    /** Retirements recorded but not done (a crash or a failed delete in between): the next run finishes them. */
    public List<LiveTag> pendingRetirements(String stack, String target) {
        return jdbc.sql("""
                        SELECT t.id, t.repository, t.tag, t.digest, t.build_id, t.pushed_at, NULL AS pin
                        FROM retirement r JOIN image_tag t ON t.id = r.image_tag_id JOIN build b ON b.id = t.build_id
                        WHERE r.done_at IS NULL AND r.cancelled_at IS NULL AND b.stack = ? AND t.target = ? ORDER BY r.id""")
                .params(stack, target)
                .query((rs, n) -> new LiveTag(rs.getLong("id"), rs.getString("repository"), rs.getString("tag"), rs.getString("digest"),
                        rs.getLong("build_id"), instant(rs, "pushed_at"), null))
                .list();
    }

    /** A retirement as recorded: planned (by whom, why), done or not, and its last error. */
    public record Retirement(String repository, String tag, String digest, Instant plannedAt, String plannedBy, String reason,
                             Instant doneAt, Instant cancelledAt, String error) {
    }

    public List<Retirement> retirements(String stack) {
        return jdbc.sql("""
                        SELECT t.repository, t.tag, t.digest, r.planned_at, r.planned_by, r.reason, r.done_at, r.cancelled_at, r.error
                        FROM retirement r JOIN image_tag t ON t.id = r.image_tag_id JOIN build b ON b.id = t.build_id
                        WHERE b.stack = ? ORDER BY r.id""")
                .param(stack)
                .query((rs, n) -> new Retirement(rs.getString("repository"), rs.getString("tag"), rs.getString("digest"),
                        instant(rs, "planned_at"), rs.getString("planned_by"), rs.getString("reason"), instant(rs, "done_at"),
                        instant(rs, "cancelled_at"), rs.getString("error")))
                .list();
    }

    /**
     * An image as a pin names it: by digest, or by repository and tag. A tag alone is not enough: after a
     * repository change two live images of one stack can carry the same tag.
     */
    public record ImageName(String digest, String repository, String tag) {
        public static ImageName digest(String digest) {
            return new ImageName(digest, null, null);
        }

        public static ImageName tagged(String repository, String tag) {
            return new ImageName(null, repository, tag);
        }

        @Override
        public String toString() {
            return digest != null ? digest : repository + ":" + tag;
        }
    }

    /**
     * Pins the stack's live image {@code image}: every live tag of it, so it is kept whatever the policy
     * says. Returns the tags pinned; none when the stack has no such live image. An image already pinned
     * is an error.
     */
    public List<LiveTag> pin(String stack, ImageName image, String by, String reason) {
        return transactions.execute(status -> {
            List<LiveTag> tags = liveTags(stack, image);
            for (LiveTag tag : tags) {
                if (tag.pin() != null) {
                    throw new IllegalStateException(stack + ": " + tag.repository() + ":" + tag.tag() + " is already pinned (" + tag.pin() + ")");
                }
                try {
                    jdbc.sql("INSERT INTO pin (image_tag_id, pinned_by, reason) VALUES (?, ?, ?)").params(tag.id(), by, reason).update();
                } catch (DuplicateKeyException e) {
                    throw new IllegalStateException(stack + ": " + tag.repository() + ":" + tag.tag() + " is already pinned");
                }
            }
            if (!tags.isEmpty()) {
                audit(by, "tag.pinned", stack + ":" + image, Map.of("reason", reason, "digest", tags.get(0).digest(),
                        "tags", tags.stream().map(t -> t.repository() + ":" + t.tag()).toList()));
            }
            return tags;
        });
    }

    /** Ends the pins of the stack's live image {@code image}; returns the tags unpinned (none when it was not pinned). */
    public List<LiveTag> unpin(String stack, ImageName image, String by, String reason) {
        return transactions.execute(status -> {
            List<LiveTag> pinned = liveTags(stack, image).stream().filter(t -> t.pin() != null).toList();
            for (LiveTag tag : pinned) {
                jdbc.sql("""
                                UPDATE pin SET unpinned_at = now(), unpinned_by = ?, unpin_reason = ?
                                WHERE image_tag_id = ? AND unpinned_at IS NULL""")
                        .params(by, reason, tag.id()).update();
            }
            if (!pinned.isEmpty()) {
                audit(by, "tag.unpinned", stack + ":" + image, Map.of("reason", reason, "digest", pinned.get(0).digest(),
                        "tags", pinned.stream().map(t -> t.repository() + ":" + t.tag()).toList()));
            }
            return pinned;
        });
    }

    /**
     * The stack's live tags of {@code image} (every target), with their pins. A digest may also name a
     * platform image of an index (what {@code docker pull} resolved on one machine): the tags are the
     * index's, which is what is kept or retired as one.
     */
    public List<LiveTag> liveTags(String stack, ImageName image) {
        return jdbc.sql("""
                        SELECT t.id, t.repository, t.tag, t.digest, t.build_id, t.pushed_at, p.pinned_by || ': ' || p.reason AS pin
                        FROM image_tag t JOIN build b ON b.id = t.build_id
                        LEFT JOIN pin p ON p.image_tag_id = t.id AND p.unpinned_at IS NULL
                        WHERE b.stack = ? AND t.retired_at IS NULL
                          AND (t.digest = CAST(? AS text) OR (t.repository = CAST(? AS text) AND t.tag = CAST(? AS text))
                               OR (t.digest = b.image_digest
                                   AND b.platforms @> jsonb_build_array(jsonb_build_object('digest', CAST(? AS text)))))
                        ORDER BY t.id""")
                .params(stack, image.digest(), image.repository(), image.tag(), image.digest())
                .query((rs, n) -> new LiveTag(rs.getLong("id"), rs.getString("repository"), rs.getString("tag"), rs.getString("digest"),
                        rs.getLong("build_id"), instant(rs, "pushed_at"), rs.getString("pin")))
                .list();
    }

    /** The stack's live tags called {@code tag}, in any repository: what a caller naming only a tag could have meant. */
    public List<LiveTag> liveTagsNamed(String stack, String tag) {
        return jdbc.sql("""
                        SELECT t.id, t.repository, t.tag, t.digest, t.build_id, t.pushed_at, NULL AS pin
                        FROM image_tag t JOIN build b ON b.id = t.build_id
                        WHERE b.stack = ? AND t.tag = ? AND t.retired_at IS NULL ORDER BY t.id""")
                .params(stack, tag)
                .query((rs, n) -> new LiveTag(rs.getLong("id"), rs.getString("repository"), rs.getString("tag"), rs.getString("digest"),
                        rs.getLong("build_id"), instant(rs, "pushed_at"), null))
                .list();
    }

    public void audit(String actor, String action, String subject, Object detail) {
        audit(jdbc, actor, action, subject, detail);
    }

    /** One audit entry through {@code jdbc} (in its transaction, if it is in one); the chain's hashes are the database's. */
    static void audit(JdbcClient jdbc, String actor, String action, String subject, Object detail) {
        jdbc.sql("INSERT INTO audit (actor, action, subject, detail) VALUES (?, ?, ?, ?::jsonb)")
                .params(actor, action, subject, json(detail)).update();
    }

    // ---- reading -----------------------------------------------------------------------------

    /** One build; the list views leave the bulky parts (lock, layers, report) null. */
    public record Build(long id, String stack, String trigger, String triggeredBy, String catalogRevision, String kilnVersion,
                        String instance, Instant requestedAt, Instant startedAt, Instant finishedAt, String status, String step,
                        String failureReason, String stackDigest, String lockDigest, String fingerprint, String target,
                        String repository, String imageDigest, String reference, JsonNode tags, Long compressedBytes,
                        Long uncompressedBytes, Long bytesPushed, JsonNode packageDiff, Long previousBuildId, Long recoveredFrom,
                        Integer attempt, Instant cancelRequestedAt, String cancelRequestedBy, String cancelReason,
                        JsonNode lock, JsonNode layers, JsonNode report, boolean signed, String signingKeyId, JsonNode platforms) {
    }

    /**
     * A stack with its approved image and its newest build; {@code policy} is the retention policy it last
     * had in the catalog (null if never recorded).
     */
    public record Stack(String name, String owner, String repository, String definitionDigest, Instant firstSeen,
                        Instant removedAt, Long currentBuildId, String currentDigest, String currentReference, String currentTag,
                        String currentTarget, String currentRepository, Long lastBuildId, String lastStatus, Instant lastFinishedAt,
                        Policy policy, JsonNode currentPlatforms) {
    }

    public record Page<T>(List<T> items, int page, int size, long total) {
    }

    public record AuditEntry(long id, Instant at, String actor, String action, String subject, JsonNode detail) {
    }

    public List<Stack> stacks() {
        return jdbc.sql(STACKS + " ORDER BY s.name").query(History::stack).list();
    }

    public Optional<Stack> stack(String name) {
        return jdbc.sql(STACKS + " WHERE s.name = ?").param(name).query(History::stack).optional();
    }

    private static final String STACKS = """
            SELECT s.name, s.owner, s.repository, s.definition_digest, s.first_seen, s.removed_at, s.current_build_id,
              s.keep_last, s.keep_days, s.keep_pulled_days,
              c.image_digest AS current_digest, c.reference AS current_reference, c.tags->>0 AS current_tag,
              c.target AS current_target, c.repository AS current_repository, c.platforms::text AS current_platforms,
              l.id AS last_id, l.status AS last_status, l.finished_at AS last_finished
            FROM stack s
            LEFT JOIN build c ON c.id = s.current_build_id
            LEFT JOIN LATERAL (SELECT id, status, finished_at FROM build WHERE stack = s.name ORDER BY id DESC LIMIT 1) l ON true""";

    public Page<Build> builds(String stack, int page, int size) {
        long total = jdbc.sql("SELECT count(*) FROM build WHERE stack = ?").param(stack).query(Long.class).single();
        List<Build> items = jdbc.sql("SELECT " + SUMMARY_COLUMNS + ", NULL AS lock, NULL AS layers, NULL AS report FROM build"
                        + " WHERE stack = ? ORDER BY id DESC LIMIT ? OFFSET ?")
                .params(stack, size, (long) page * size).query(History::build).list();
        return new Page<>(items, page, size, total);
    }

    public Optional<Build> build(long id) {
        return jdbc.sql("SELECT " + SUMMARY_COLUMNS + ", lock::text AS lock, layers::text AS layers, report::text AS report"
                + " FROM build WHERE id = ?").param(id).query(History::build).optional();
    }

    /** Every build, newest first, across stacks (what the CLI's history shows). */
    public List<Build> recent(int limit) {
        return recent(List.of(), limit);
    }

    /** The newest builds of these stacks (every stack when none is named), newest first. */
    public List<Build> recent(List<String> stacks, int limit) {
        return jdbc.sql("SELECT " + SUMMARY_COLUMNS + ", NULL AS lock, NULL AS layers, NULL AS report FROM build"
                        + " WHERE cardinality(?::text[]) = 0 OR stack = ANY(?::text[]) ORDER BY id DESC LIMIT ?")
                .params(stacks.toArray(String[]::new), stacks.toArray(String[]::new), limit).query(History::build).list();
    }

    /** A stack in the catalog: when a build of it last ended well (built or up to date), and when its approved image was made. */
    public record StackTimes(String name, Instant lastSuccess, Instant approvedAt) {
    }

    public List<StackTimes> stackTimes() {
        return jdbc.sql("""
                        SELECT s.name, l.finished_at AS last_success, c.finished_at AS approved_at FROM stack s
                        LEFT JOIN build c ON c.id = s.current_build_id
                        LEFT JOIN LATERAL (SELECT finished_at FROM build WHERE stack = s.name AND status IN ('succeeded', 'up-to-date')
                                           ORDER BY id DESC LIMIT 1) l ON true
                        WHERE s.removed_at IS NULL ORDER BY s.name""")
                .query((rs, n) -> new StackTimes(rs.getString("name"), instant(rs, "last_success"), instant(rs, "approved_at"))).list();
    }

    public Page<AuditEntry> audit(int page, int size) {
        long total = jdbc.sql("SELECT count(*) FROM audit").query(Long.class).single();
        // an entry written before entries were bounded (V6) is shown by its size, not echoed on every page
        List<AuditEntry> items = jdbc.sql("""
                        SELECT id, at, actor, action, subject, CASE WHEN octet_length(detail::text) > 16384
                          THEN jsonb_build_object('truncated', true, 'bytes', octet_length(detail::text))::text ELSE detail::text END AS detail
                        FROM audit ORDER BY id DESC LIMIT ? OFFSET ?""")
                .params(size, (long) page * size)
                .query((rs, n) -> new AuditEntry(rs.getLong("id"), instant(rs, "at"), rs.getString("actor"), rs.getString("action"),
                        rs.getString("subject"), node(rs.getString("detail"))))
                .list();
        return new Page<>(items, page, size, total);
    }

    static Stack stack(ResultSet rs, int n) throws SQLException {
        return new Stack(rs.getString("name"), rs.getString("owner"), rs.getString("repository"), rs.getString("definition_digest"),
                instant(rs, "first_seen"), instant(rs, "removed_at"), (Long) rs.getObject("current_build_id"),
                rs.getString("current_digest"), rs.getString("current_reference"), rs.getString("current_tag"),
                rs.getString("current_target"), rs.getString("current_repository"), (Long) rs.getObject("last_id"),
                rs.getString("last_status"), instant(rs, "last_finished"), rs.getObject("keep_last") == null ? null
                : new Policy(rs.getInt("keep_last"), rs.getInt("keep_days"), rs.getInt("keep_pulled_days")),
                node(rs.getString("current_platforms")));
    }

    static Build build(ResultSet rs, int n) throws SQLException {
        return new Build(rs.getLong("id"), rs.getString("stack"), rs.getString("trigger"), rs.getString("triggered_by"),
                rs.getString("catalog_revision"), rs.getString("kiln_version"), rs.getString("instance"), instant(rs, "requested_at"),
                instant(rs, "started_at"), instant(rs, "finished_at"), rs.getString("status"), rs.getString("step"),
                rs.getString("failure_reason"), rs.getString("stack_digest"), rs.getString("lock_digest"), rs.getString("fingerprint"),
                rs.getString("target"), rs.getString("repository"), rs.getString("image_digest"), rs.getString("reference"),
                node(rs.getString("tags")), (Long) rs.getObject("compressed_bytes"), (Long) rs.getObject("uncompressed_bytes"),
                (Long) rs.getObject("bytes_pushed"), node(rs.getString("package_diff")), (Long) rs.getObject("previous_build_id"),
                (Long) rs.getObject("recovered_from"), (Integer) rs.getObject("attempt"), instant(rs, "cancel_requested_at"),
                rs.getString("cancel_requested_by"), rs.getString("cancel_reason"), node(rs.getString("lock")), node(rs.getString("layers")),
                node(rs.getString("report")), rs.getBoolean("signed"), rs.getString("signing_key_id"), node(rs.getString("platforms")));
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    static JsonNode node(String json) {
        return json == null ? null : JSON.readTree(json);
    }

    static String json(Object value) {
        return value == null ? null : value instanceof String s ? s : JSON.writeValueAsString(value);
    }
}
