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
            tags, compressed_bytes, uncompressed_bytes, bytes_pushed, package_diff, previous_build_id, recovered_from""";

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;

    public History(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    // ---- the catalog -------------------------------------------------------------------------

    /** A stack as the catalog defines it now. */
    public record StackState(String name, String definitionDigest, String repository, String owner) {
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
                jdbc.sql("""
                                INSERT INTO stack (name, definition_digest, repository, owner) VALUES (?, ?, ?, ?)
                                ON CONFLICT (name) DO UPDATE SET definition_digest = excluded.definition_digest,
                                  repository = excluded.repository, owner = excluded.owner, last_seen = now(), removed_at = NULL""")
                        .params(s.name(), s.definitionDigest(), s.repository(), s.owner()).update();
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

    /** Who asked for a build and how. */
    public record Request(String stack, String trigger, String triggeredBy, String catalogRevision, String kilnVersion,
                          Long recoveredFrom) {
    }

    /** The build row a request got: a new one, or the build already queued or running for that stack. */
    public record Ticket(long id, boolean joined) {
    }

    /**
     * Opens a build for the request, {@code queued} (someone else will run it) or {@code running} on
     * {@code instance}. If the stack already has a queued or running build, that one is returned instead.
     */
    public Ticket open(Request request, boolean running, String instance) {
        for (int attempt = 0; ; attempt++) {
            try {
                return transactions.execute(status -> {
                    jdbc.sql("INSERT INTO stack (name) VALUES (?) ON CONFLICT (name) DO NOTHING").param(request.stack()).update();
                    long id = jdbc.sql("""
                                    INSERT INTO build (stack, trigger, triggered_by, catalog_revision, kiln_version, recovered_from,
                                      status, instance, started_at, heartbeat_at)
                                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? THEN now() END, now()) RETURNING id""")
                            .params(request.stack(), request.trigger(), request.triggeredBy(), request.catalogRevision(),
                                    request.kilnVersion(), request.recoveredFrom(), running ? "running" : "queued",
                                    running ? instance : null, running)
                            .query(Long.class).single();
                    audit(request.triggeredBy(), "build.requested", request.stack(),
                            Map.of("build", id, "trigger", request.trigger()));
                    return new Ticket(id, false);
                });
            } catch (DuplicateKeyException e) {
                Optional<Long> active = active(request.stack());
                if (active.isPresent()) {
                    return new Ticket(active.get(), true);
                }
                if (attempt > 3) {
                    throw e;
                }
                // the active build finished between the insert and the lookup: try again
            }
        }
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

    public void step(long id, String step) {
        jdbc.sql("UPDATE build SET step = ?, heartbeat_at = now() WHERE id = ? AND status = 'running'").params(step, id).update();
    }

    public void heartbeat(List<Long> ids) {
        if (!ids.isEmpty()) {
            jdbc.sql("UPDATE build SET heartbeat_at = now() WHERE status = 'running' AND id = ANY(?)")
                    .param(ids.toArray(Long[]::new)).update();
        }
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
                          previous_build_id = ?, package_diff = '[]'::jsonb
                        WHERE id = ? AND status = 'running'""")
                .params(previous.digest(), previous.reference(), previous.id(), id).update();
    }

    /** A published image and what it took. */
    public record Published(String digest, String reference, String tag, boolean alreadyPresent, long compressedBytes,
                            long uncompressedBytes, Object layers, long bytesPushed, Object report, Object packageDiff,
                            Long previousBuildId, boolean quarantined, Object scan) {
    }

    /**
     * Records the image, its tag and (unless the scan gate quarantined it) the stack's new approved
     * image in one transaction.
     */
    public void succeeded(long id, Published p) {
        transactions.executeWithoutResult(status -> {
            int updated = jdbc.sql("""
                            UPDATE build SET status = ?, finished_at = now(), image_digest = ?, reference = ?, tags = ?::jsonb,
                              compressed_bytes = ?, uncompressed_bytes = ?, layers = ?::jsonb, bytes_pushed = ?, report = ?::jsonb,
                              package_diff = ?::jsonb, previous_build_id = ?, scan = ?::jsonb
                            WHERE id = ? AND status = 'running'""")
                    .params(p.quarantined() ? "quarantined" : "succeeded", p.digest(), p.reference(), json(List.of(p.tag())),
                            p.compressedBytes(), p.uncompressedBytes(), json(p.layers()), p.bytesPushed(), json(p.report()),
                            json(p.packageDiff()), p.previousBuildId(), json(p.scan()), id)
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

    /**
     * The image the stack's newest good build left on a target: what an unchanged tick compares against.
     * {@code id} is the build that made the image.
     */
    public record Good(long id, String fingerprint, String digest, String reference, String tag, String lock) {
    }

    public Optional<Good> lastGood(String stack, String target) {
        // an up-to-date build points at the build that made its image; a retired tag is no good image
        return jdbc.sql("""
                        SELECT x.image_build, x.fingerprint, i.image_digest, i.reference, t.tag, i.lock::text AS lock
                        FROM (SELECT CASE WHEN status = 'up-to-date' THEN previous_build_id ELSE id END AS image_build, fingerprint
                              FROM build WHERE stack = ? AND target = ? AND status IN ('succeeded', 'up-to-date')
                              ORDER BY id DESC LIMIT 1) x
                        JOIN build i ON i.id = x.image_build
                        JOIN image_tag t ON t.target = i.target AND t.repository = i.repository AND t.tag = i.tags->>0
                          AND t.digest = i.image_digest AND t.retired_at IS NULL""")
                .params(stack, target)
                .query((rs, n) -> new Good(rs.getLong("image_build"), rs.getString("fingerprint"), rs.getString("image_digest"),
                        rs.getString("reference"), rs.getString("tag"), rs.getString("lock")))
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

    /** Pins a live tag of the stack; false when there is no such live tag. Pinning a pinned tag is an error. */
    public boolean pin(String stack, String tag, String by, String reason) {
        return transactions.execute(status -> {
            Optional<Long> tagId = liveTagId(stack, tag);
            if (tagId.isEmpty()) {
                return false;
            }
            try {
                jdbc.sql("INSERT INTO pin (image_tag_id, pinned_by, reason) VALUES (?, ?, ?)").params(tagId.get(), by, reason).update();
            } catch (DuplicateKeyException e) {
                throw new IllegalStateException(stack + ":" + tag + " is already pinned");
            }
            audit(by, "tag.pinned", stack + ":" + tag, Map.of("reason", reason));
            return true;
        });
    }

    /** Ends the pin of a tag; false when it is not pinned. */
    public boolean unpin(String stack, String tag, String by, String reason) {
        return transactions.execute(status -> {
            Optional<Long> tagId = liveTagId(stack, tag);
            int ended = tagId.isEmpty() ? 0 : jdbc.sql("""
                            UPDATE pin SET unpinned_at = now(), unpinned_by = ?, unpin_reason = ?
                            WHERE image_tag_id = ? AND unpinned_at IS NULL""")
                    .params(by, reason, tagId.get()).update();
            if (ended > 0) {
                audit(by, "tag.unpinned", stack + ":" + tag, Map.of("reason", reason));
            }
            return ended > 0;
        });
    }

    private Optional<Long> liveTagId(String stack, String tag) {
        return jdbc.sql("""
                        SELECT t.id FROM image_tag t JOIN build b ON b.id = t.build_id
                        WHERE b.stack = ? AND t.tag = ? AND t.retired_at IS NULL ORDER BY t.id DESC LIMIT 1""")
                .params(stack, tag).query(Long.class).optional();
    }

    public void audit(String actor, String action, String subject, Object detail) {
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
                        JsonNode lock, JsonNode layers, JsonNode report) {
    }

    /** A stack with its approved image and its newest build. */
    public record Stack(String name, String owner, String repository, String definitionDigest, Instant firstSeen,
                        Instant removedAt, Long currentBuildId, String currentDigest, String currentReference, String currentTag,
                        String currentTarget, String currentRepository, Long lastBuildId, String lastStatus, Instant lastFinishedAt) {
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
              c.image_digest AS current_digest, c.reference AS current_reference, c.tags->>0 AS current_tag,
              c.target AS current_target, c.repository AS current_repository,
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
                rs.getString("last_status"), instant(rs, "last_finished"));
    }

    static Build build(ResultSet rs, int n) throws SQLException {
        return new Build(rs.getLong("id"), rs.getString("stack"), rs.getString("trigger"), rs.getString("triggered_by"),
                rs.getString("catalog_revision"), rs.getString("kiln_version"), rs.getString("instance"), instant(rs, "requested_at"),
                instant(rs, "started_at"), instant(rs, "finished_at"), rs.getString("status"), rs.getString("step"),
                rs.getString("failure_reason"), rs.getString("stack_digest"), rs.getString("lock_digest"), rs.getString("fingerprint"),
                rs.getString("target"), rs.getString("repository"), rs.getString("image_digest"), rs.getString("reference"),
                node(rs.getString("tags")), (Long) rs.getObject("compressed_bytes"), (Long) rs.getObject("uncompressed_bytes"),
                (Long) rs.getObject("bytes_pushed"), node(rs.getString("package_diff")), (Long) rs.getObject("previous_build_id"),
                (Long) rs.getObject("recovered_from"), node(rs.getString("lock")), node(rs.getString("layers")),
                node(rs.getString("report")));
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
