package dev.kiln.history;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

/**
 * The questions the console, the API and the evidence export ask of the build history across stacks:
 * builds by time, stack, status and trigger; what became of an image digest; the approved image of a
 * version line; pins; a stack's package changes and its build times and sizes.
 */
public final class BuildQueries {

    private final JdbcClient jdbc;

    public BuildQueries(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** Builds requested in [since, until), of a stack, with a status, from a trigger; null: any. */
    public record Filter(Instant since, Instant until, String stack, String status, String trigger) {
    }

    public History.Page<History.Build> search(Filter f, int page, int size) {
        String where = """
                 WHERE (?::timestamptz IS NULL OR requested_at >= ?) AND (?::timestamptz IS NULL OR requested_at < ?)
                   AND (?::text IS NULL OR stack = ?) AND (?::text IS NULL OR status = ?) AND (?::text IS NULL OR trigger = ?)""";
        Object[] params = params(f);
        long total = jdbc.sql("SELECT count(*) FROM build " + where).params(params).query(Long.class).single();
        List<Object> all = new ArrayList<>(java.util.Arrays.asList(params));
        all.add(size);
        all.add((long) page * size);
        List<History.Build> items = jdbc.sql("SELECT " + History.SUMMARY_COLUMNS + ", NULL AS lock, NULL AS layers, NULL AS report FROM build "
                        + where + " ORDER BY id DESC LIMIT ? OFFSET ?")
                .params(all).query(History::build).list();
        return new History.Page<>(items, page, size, total);
    }

    /**
     * The builds of a period for the evidence export, oldest first, at most {@code limit}, lock and report
     * included: every build requested, started or finished in [since, until). So a build requested
     * before {@code since} that approved its image inside the period is there, and so is one that was
     * still running when the period ended.
     */
    public List<History.Build> during(Instant since, Instant until, int limit) {
        Timestamp from = Timestamp.from(since);
        Timestamp to = Timestamp.from(until);
        return jdbc.sql("SELECT " + History.SUMMARY_COLUMNS + ", lock::text AS lock, layers::text AS layers, report::text AS report FROM build "
                        + """
                         WHERE (requested_at >= ? AND requested_at < ?) OR (started_at >= ? AND started_at < ?)
                            OR (finished_at >= ? AND finished_at < ?)
                         ORDER BY id LIMIT ?""")
                .params(from, to, from, to, from, to, limit).query(History::build).list();
    }

    private static Object[] params(Filter f) {
        Timestamp since = f.since() == null ? null : Timestamp.from(f.since());
        Timestamp until = f.until() == null ? null : Timestamp.from(f.until());
        return new Object[] {since, since, until, until, f.stack(), f.stack(), f.status(), f.status(), f.trigger(), f.trigger()};
    }

    /**
     * The build whose definition a build is compared with: the build it recorded as previous, or else
     * the stack's newest earlier build that recorded a definition.
     */
    public Optional<Long> previous(long build) {
        return jdbc.sql("""
                        SELECT coalesce(b.previous_build_id,
                          (SELECT p.id FROM build p WHERE p.stack = b.stack AND p.id < b.id AND p.stack_definition IS NOT NULL
                             AND p.status IN ('succeeded', 'quarantined') ORDER BY p.id DESC LIMIT 1))
                        FROM build b WHERE b.id = ?""")
                .param(build).query((rs, n) -> (Long) rs.getObject(1)).optional().flatMap(Optional::ofNullable);
    }

    // ---- digests ------------------------------------------------------------------------------

    /** A build that published an image: its stack, when, the tag and whether the tag was retired. */
    public record Published(long build, String stack, String status, Instant finishedAt, String target, String repository, String digest,
                            String tag, String reference, Instant retiredAt, String retiredReason, String retiredBy, JsonNode packageDiff) {
    }

    /** Every build that published {@code digest} (succeeded or quarantined), newest first. */
    public List<Published> published(String digest) {
        return jdbc.sql(PUBLISHED + " WHERE b.image_digest = ? AND b.status IN ('succeeded', 'quarantined') ORDER BY b.id DESC")
                .param(digest).query(BuildQueries::published).list();
    }

    /** The approved builds of a stack after {@code build}, oldest first: what superseded it. */
    public List<Published> approvedAfter(String stack, long build) {
        return jdbc.sql(PUBLISHED + " WHERE b.stack = ? AND b.id > ? AND b.status = 'succeeded' ORDER BY b.id")
                .params(stack, build).query(BuildQueries::published).list();
    }

    /**
     * The approved image of a stack's version line: the newest build of that line that succeeded and
     * whose tag is not retired. The line is the stack's {@code version} as recorded with the build, or
     * for builds recorded before the definition was kept, the part of the tag before its first '-'.
     */
    public Optional<Published> approvedOfLine(String stack, String version) {
        return jdbc.sql(PUBLISHED + " " + """
                         WHERE b.stack = ? AND b.status = 'succeeded' AND t.retired_at IS NULL
                           AND coalesce(b.stack_definition::jsonb->>'version', split_part(b.tags->>0, '-', 1)) = ?
                         ORDER BY b.id DESC LIMIT 1""")
                .params(stack, version).query(BuildQueries::published).optional();
    }

    /** The version lines a stack has built, newest first. */
    public List<String> lines(String stack) {
        return jdbc.sql("""
                        SELECT v FROM (SELECT coalesce(stack_definition::jsonb->>'version', split_part(tags->>0, '-', 1)) AS v, max(id) AS last
                                       FROM build WHERE stack = ? AND status = 'succeeded' GROUP BY 1) x ORDER BY last DESC""")
                .param(stack).query(String.class).list();
    }

    private static final String PUBLISHED = """
            SELECT b.id, b.stack, b.status, b.finished_at, b.target, b.repository, b.image_digest, b.tags->>0 AS tag, b.reference,
              t.retired_at, t.retired_reason, t.retired_by, b.package_diff::text AS package_diff
            FROM build b LEFT JOIN image_tag t ON t.target = b.target AND t.repository = b.repository AND t.tag = b.tags->>0""";

    private static Published published(java.sql.ResultSet rs, int n) throws java.sql.SQLException {
        return new Published(rs.getLong("id"), rs.getString("stack"), rs.getString("status"), History.instant(rs, "finished_at"),
                rs.getString("target"), rs.getString("repository"), rs.getString("image_digest"), rs.getString("tag"), rs.getString("reference"),
                History.instant(rs, "retired_at"), rs.getString("retired_reason"), rs.getString("retired_by"),
                History.node(rs.getString("package_diff")));
    }

    // ---- pins ---------------------------------------------------------------------------------

    /** A pin in force. */
    public record Pin(String stack, String repository, String tag, String digest, long build, Instant pinnedAt, String pinnedBy,
                      String reason) {
    }

    /** Every pin in force, of one stack or all ({@code stack} null), oldest first. */
    public List<Pin> pins(String stack) {
        return jdbc.sql("""
                        SELECT b.stack, t.repository, t.tag, t.digest, t.build_id, p.pinned_at, p.pinned_by, p.reason
                        FROM pin p JOIN image_tag t ON t.id = p.image_tag_id JOIN build b ON b.id = t.build_id
                        WHERE p.unpinned_at IS NULL AND t.retired_at IS NULL AND (?::text IS NULL OR b.stack = ?) ORDER BY p.id""")
                .params(stack, stack)
                .query((rs, n) -> new Pin(rs.getString("stack"), rs.getString("repository"), rs.getString("tag"), rs.getString("digest"),
                        rs.getLong("build_id"), History.instant(rs, "pinned_at"), rs.getString("pinned_by"), rs.getString("reason")))
                .list();
    }

    // ---- a stack over time ----------------------------------------------------------------------

    /** A finished build as a point in time: how long it took, how large its image is, how many packages changed. */
    public record Point(long id, String status, Instant finishedAt, double seconds, Long compressedBytes, JsonNode packageDiff, String tag) {
    }

    /** A stack's newest {@code limit} finished builds (failed ones included), oldest first. */
    public List<Point> points(String stack, int limit) {
        List<Point> points = new ArrayList<>(jdbc.sql("""
                        SELECT id, status, finished_at, extract(epoch FROM finished_at - coalesce(started_at, requested_at)) AS seconds,
                          compressed_bytes, package_diff::text AS package_diff, tags->>0 AS tag
                        FROM build WHERE stack = ? AND finished_at IS NOT NULL ORDER BY id DESC LIMIT ?""")
                .params(stack, limit)
                .query((rs, n) -> new Point(rs.getLong("id"), rs.getString("status"), History.instant(rs, "finished_at"),
                        rs.getDouble("seconds"), (Long) rs.getObject("compressed_bytes"), History.node(rs.getString("package_diff")),
                        rs.getString("tag")))
                .list());
        java.util.Collections.reverse(points);
        return points;
    }
}
