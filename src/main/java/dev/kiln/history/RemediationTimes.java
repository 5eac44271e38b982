package dev.kiln.history;

import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Remediation time: for every package version a build changed, from when Kiln first saw it in the
 * archive to when the image carrying it became the approved one (the build that succeeded with it; a
 * quarantined build approves nothing, so its versions count from the next approved build that has them).
 * A version Kiln had not recorded seeing (resolved before V11) has no time.
 */
public final class RemediationTimes {

    private final JdbcClient jdbc;

    public RemediationTimes(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /**
     * One changed package of a build: versions, when Kiln first saw the new one (by resolving which
     * stack, in a Release of which date), when it was approved, and the seconds in between.
     */
    public record Change(String name, String from, String to, Instant firstSeen, String seenBy, Instant releaseDate, Instant approvedAt,
                         Long seconds) {
    }

    public List<Change> of(long build) {
        return jdbc.sql("""
                        SELECT c->>'name' AS name, c->>'from' AS from_v, c->>'to' AS to_v, s.first_seen, s.stack, s.release_date,
                          CASE WHEN b.status = 'succeeded' THEN b.finished_at END AS approved_at
                        FROM build b CROSS JOIN LATERAL jsonb_array_elements(coalesce(b.package_diff, '[]'::jsonb)) c
                        LEFT JOIN LATERAL (SELECT first_seen, stack, release_date FROM package_seen
                                           WHERE name = c->>'name' AND version = c->>'to' ORDER BY first_seen LIMIT 1) s ON true
                        WHERE b.id = ? ORDER BY c->>'name'""")
                .param(build)
                .query((rs, n) -> {
                    Instant seen = History.instant(rs, "first_seen");
                    Instant approved = History.instant(rs, "approved_at");
                    return new Change(rs.getString("name"), rs.getString("from_v"), rs.getString("to_v"), seen, rs.getString("stack"),
                            History.instant(rs, "release_date"), approved,
                            seen == null || approved == null ? null : Math.max(0, approved.getEpochSecond() - seen.getEpochSecond()));
                })
                .list();
    }

    /**
     * A stack's remediation over the last {@code days}: how many changed versions were approved, the
     * median and the worst time (seconds), and which version took the worst.
     */
    public record Summary(String stack, int days, long changes, Double medianSeconds, Double worstSeconds, String worst) {
    }

    /** Every stack with an approved change in the window; {@code stack} null: all of them. */
    public List<Summary> summary(String stack, int days) {
        return jdbc.sql("""
                        SELECT b.stack, count(*) AS changes,
                          percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM b.finished_at - s.first_seen)) AS median,
                          max(extract(epoch FROM b.finished_at - s.first_seen)) AS worst,
                          (array_agg((c->>'name') || ' ' || (c->>'to') ORDER BY b.finished_at - s.first_seen DESC))[1] AS worst_change
                        FROM build b CROSS JOIN LATERAL jsonb_array_elements(b.package_diff) c
                        JOIN LATERAL (SELECT min(first_seen) AS first_seen FROM package_seen
                                      WHERE name = c->>'name' AND version = c->>'to') s ON s.first_seen IS NOT NULL
                        WHERE b.status = 'succeeded' AND b.finished_at >= now() - make_interval(days => ?) AND c->>'to' IS NOT NULL
                          AND (?::text IS NULL OR b.stack = ?)
                        GROUP BY b.stack ORDER BY b.stack""")
                .params(days, stack, stack)
                .query((rs, n) -> new Summary(rs.getString("stack"), days, rs.getLong("changes"), number(rs.getObject("median")),
                        number(rs.getObject("worst")), rs.getString("worst_change")))
                .list();
    }

    private static Double number(Object value) {
        return value == null ? null : ((Number) value).doubleValue();
    }
}
