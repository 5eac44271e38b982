package dev.kiln.history;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The audit trail filtered as a reviewer asks: by time, actor, stack and action, newest first. A stack's
 * entries are those about it (subject {@code STACK}), its tags ({@code STACK:TAG}) and its repository's
 * tags ({@code REPOSITORY:TAG}).
 */
public final class AuditSearch {

    private final JdbcClient jdbc;

    public AuditSearch(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** Null fields match anything; {@code actor} and {@code action} match a prefix ({@code tag.} finds every tag action). */
    public record Filter(Instant since, Instant until, String actor, String stack, String action) {
    }

    public History.Page<History.AuditEntry> search(Filter f, int page, int size) {
        Timestamp since = f.since() == null ? null : Timestamp.from(f.since());
        Timestamp until = f.until() == null ? null : Timestamp.from(f.until());
        String where = """
                 FROM audit a LEFT JOIN stack s ON s.name = ?
                 WHERE (?::timestamptz IS NULL OR a.at >= ?) AND (?::timestamptz IS NULL OR a.at < ?)
                   AND (?::text IS NULL OR starts_with(a.actor, ?)) AND (?::text IS NULL OR starts_with(a.action, ?))
                   AND (?::text IS NULL OR a.subject = ? OR starts_with(a.subject, ? || ':')
                        OR (s.repository IS NOT NULL AND (starts_with(a.subject, s.repository || ':') OR a.subject LIKE '%/' || s.repository || ':%')))""";
        Object[] params = {f.stack(), since, since, until, until, f.actor(), f.actor(), f.action(), f.action(), f.stack(), f.stack(), f.stack()};
        long total = jdbc.sql("SELECT count(*) " + where).params(params).query(Long.class).single();
        List<Object> all = new java.util.ArrayList<>(java.util.Arrays.asList(params));
        all.add(size);
        all.add((long) page * size);
        List<History.AuditEntry> items = jdbc.sql("""
                        SELECT a.id, a.at, a.actor, a.action, a.subject, CASE WHEN octet_length(a.detail::text) > 16384
                          THEN jsonb_build_object('truncated', true, 'bytes', octet_length(a.detail::text))::text ELSE a.detail::text END AS detail"""
                        + " " + where + " ORDER BY a.id DESC LIMIT ? OFFSET ?")
                .params(all)
                .query((rs, n) -> new History.AuditEntry(rs.getLong("id"), History.instant(rs, "at"), rs.getString("actor"),
                        rs.getString("action"), rs.getString("subject"), History.node(rs.getString("detail"))))
                .list();
        return new History.Page<>(items, page, size, total);
    }

    /** The actions recorded so far, for the filter's choices. */
    public List<String> actions() {
        return jdbc.sql("SELECT DISTINCT action FROM audit ORDER BY action").query(String.class).list();
    }
}
