package dev.kiln.history;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;

/**
 * Outgoing webhook deliveries in PostgreSQL, the outbox every instance works from: one delivery per
 * endpoint and approved build (the build table is the source: an approval is never missed by a crash
 * between approving and notifying), claimed by one instance at a time, every attempt recorded.
 */
public final class WebhookDeliveries {

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;

    public WebhookDeliveries(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /** Records a configured endpoint (its URL as configured now); approvals before its first configuration are not sent to it. */
    public void endpoint(String name, String url) {
        jdbc.sql("INSERT INTO webhook_endpoint (name, url) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET url = excluded.url")
                .params(name, url).update();
    }

    /** An approved build without a delivery to {@code endpoint} yet. */
    public record Approved(long build, String stack) {
    }

    public List<Approved> undelivered(String endpoint, String event, int limit) {
        return jdbc.sql("""
                        SELECT b.id, b.stack FROM build b JOIN webhook_endpoint e ON e.name = ?
                        WHERE b.status = 'succeeded' AND b.finished_at >= e.first_configured_at
                          AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.endpoint = e.name AND d.event = ? AND d.build_id = b.id)
                        ORDER BY b.id LIMIT ?""")
                .params(endpoint, event, limit).query((rs, n) -> new Approved(rs.getLong(1), rs.getString(2))).list();
    }

    public void enqueue(String endpoint, String event, long build, Object payload) {
        jdbc.sql("""
                        INSERT INTO webhook_delivery (endpoint, event, build_id, payload) VALUES (?, ?, ?, ?::jsonb)
                        ON CONFLICT (endpoint, event, build_id) DO NOTHING""")
                .params(endpoint, event, build, History.json(payload)).update();
    }

    /** A delivery to make now. */
    public record Due(long id, String endpoint, String event, long build, String payload, int attempts) {
    }

    /**
     * Claims up to {@code limit} due deliveries for this instance: their next attempt moves {@code lease}
     * ahead, so no other instance takes them while this one tries (and if it dies, they come due again).
     */
    public List<Due> claim(int limit, Duration lease) {
        return transactions.execute(status -> {
            List<Due> due = jdbc.sql("""
                            SELECT id, endpoint, event, build_id, payload::text AS payload, attempts FROM webhook_delivery
                            WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED""")
                    .param(limit)
                    .query((rs, n) -> new Due(rs.getLong("id"), rs.getString("endpoint"), rs.getString("event"), rs.getLong("build_id"),
                            rs.getString("payload"), rs.getInt("attempts")))
                    .list();
            for (Due d : due) {
                jdbc.sql("UPDATE webhook_delivery SET next_attempt_at = now() + make_interval(secs => ?) WHERE id = ?")
                        .params(lease.toMillis() / 1000.0, d.id()).update();
            }
            return due;
        });
    }

    /** Gives back claims this instance will not attempt (it is stopping): due now, for whichever instance runs next. */
    public void release(List<Long> ids) {
        if (!ids.isEmpty()) {
            jdbc.sql("UPDATE webhook_delivery SET next_attempt_at = now() WHERE status = 'pending' AND id = ANY(?)")
                    .param(ids.toArray(Long[]::new)).update();
        }
    }

    /**
     * Records an attempt and its outcome: delivered; failed for good ({@code retryIn} null); or due again
     * after {@code retryIn}.
     */
    public void attempted(long delivery, int attempt, Integer statusCode, String error, long millis, boolean delivered, Duration retryIn) {
        transactions.executeWithoutResult(status -> {
            jdbc.sql("INSERT INTO webhook_attempt (delivery_id, attempt, status_code, error, millis) VALUES (?, ?, ?, ?, ?)")
                    .params(delivery, attempt, statusCode, error, millis).update();
            if (delivered) {
                jdbc.sql("UPDATE webhook_delivery SET status = 'delivered', attempts = ?, delivered_at = now(), last_error = NULL WHERE id = ?")
                        .params(attempt, delivery).update();
            } else if (retryIn == null) {
                jdbc.sql("UPDATE webhook_delivery SET status = 'failed', attempts = ?, last_error = ? WHERE id = ?")
                        .params(attempt, error, delivery).update();
            } else {
                jdbc.sql("""
                                UPDATE webhook_delivery SET attempts = ?, last_error = ?, next_attempt_at = now() + make_interval(secs => ?)
                                WHERE id = ?""")
                        .params(attempt, error, retryIn.toMillis() / 1000.0, delivery).update();
            }
        });
    }

    /** A delivery with its attempts, as recorded. */
    public record Delivery(long id, String endpoint, String event, long build, Instant createdAt, String status, int attempts,
                           Instant nextAttemptAt, Instant deliveredAt, String lastError, JsonNode payload, List<Attempt> tries) {
    }

    public record Attempt(int attempt, Instant at, Integer statusCode, String error, long millis) {
    }

    /** The newest deliveries (of one build, or all when {@code build} is null), with their attempts. */
    public List<Delivery> deliveries(Long build, int limit) {
        List<Delivery> found = jdbc.sql("""
                        SELECT id, endpoint, event, build_id, created_at, status, attempts, next_attempt_at, delivered_at, last_error,
                          payload::text AS payload
                        FROM webhook_delivery WHERE (?::bigint IS NULL OR build_id = ?) ORDER BY id DESC LIMIT ?""")
                .params(build, build, limit)
                .query((rs, n) -> new Delivery(rs.getLong("id"), rs.getString("endpoint"), rs.getString("event"), rs.getLong("build_id"),
                        History.instant(rs, "created_at"), rs.getString("status"), rs.getInt("attempts"),
                        History.instant(rs, "next_attempt_at"), History.instant(rs, "delivered_at"), rs.getString("last_error"),
                        History.node(rs.getString("payload")), List.of()))
                .list();
        return found.stream().map(d -> new Delivery(d.id(), d.endpoint(), d.event(), d.build(), d.createdAt(), d.status(), d.attempts(),
                d.nextAttemptAt(), d.deliveredAt(), d.lastError(), d.payload(), attempts(d.id()))).toList();
    }

    private List<Attempt> attempts(long delivery) {
        return jdbc.sql("SELECT attempt, at, status_code, error, millis FROM webhook_attempt WHERE delivery_id = ? ORDER BY id")
                .param(delivery)
                .query((rs, n) -> new Attempt(rs.getInt("attempt"), History.instant(rs, "at"), (Integer) rs.getObject("status_code"),
                        rs.getString("error"), rs.getLong("millis")))
                .list();
    }

    /** Deliveries per status, for the metrics. */
    public Map<String, Long> counts() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        jdbc.sql("SELECT status, count(*) FROM webhook_delivery GROUP BY status").query((rs, n) -> counts.put(rs.getString(1), rs.getLong(2)))
                .list();
        return counts;
    }
}
