package dev.kiln.history;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Checks the audit trail's hash chain (V6): every row's hash is recomputed here from its contents, in
 * Java rather than by the database's own function, so a replaced function cannot vouch for altered
 * rows. The first row that does not fit is named: its contents changed, the link to the row before it
 * does not match (that row was changed or rows between them removed), or the chain ends before the
 * head the database recorded (the newest rows were removed).
 */
public final class AuditChain {

    /** The link of the first row. */
    static final String GENESIS = "0".repeat(64);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final JdbcTemplate jdbc;
    private final TransactionTemplate readOnly;

    public AuditChain(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.jdbc.setFetchSize(1000);
        this.readOnly = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        this.readOnly.setReadOnly(true);
    }

    /** Where and why the chain breaks: the row, and a sentence for people. */
    public record Break(long id, long seq, Instant at, String actor, String action, String subject, String reason) {
    }

    /**
     * The result of a check: rows checked, the head the database recorded, and the first break if any
     * ({@code rows} then counts the intact rows before it).
     */
    public record Verification(long rows, long headSeq, String headHash, Optional<Break> broken) {
        public boolean intact() {
            return broken.isEmpty();
        }
    }

    /** An audit row with its place in the chain and its links, as evidence. */
    public record Entry(long id, long seq, Instant at, String actor, String action, String subject, JsonNode detail, String prevHash,
                        String hash) {
    }

    /** The rows written in [since, until), in chain order, at most {@code limit}. */
    public List<Entry> entries(Instant since, Instant until, int limit) {
        return jdbc.query("""
                        SELECT id, seq, at, actor, action, subject, detail::text AS detail, prev_hash, hash FROM audit
                        WHERE at >= ? AND at < ? ORDER BY seq LIMIT ?""",
                (rs, n) -> new Entry(rs.getLong("id"), rs.getLong("seq"), rs.getTimestamp("at").toInstant(), rs.getString("actor"),
                        rs.getString("action"), rs.getString("subject"), JSON.readTree(rs.getString("detail")), rs.getString("prev_hash"),
                        rs.getString("hash")),
                Timestamp.from(since), Timestamp.from(until), limit);
    }

    /** Walks the whole chain in order, streaming (a cursor inside one read-only transaction). */
    public Verification verify() {
        return readOnly.execute(status -> {
            var head = jdbc.queryForMap("SELECT last_seq, last_hash FROM audit_head");
            long headSeq = ((Number) head.get("last_seq")).longValue();
            String headHash = (String) head.get("last_hash");
            Walk walk = new Walk();
            jdbc.query("SELECT id, seq, at, actor, action, subject, detail::text AS detail, prev_hash, hash FROM audit ORDER BY seq",
                    rs -> {
                        if (walk.broken == null) {
                            walk.next(rs);
                        }
                    });
            if (walk.broken == null && (walk.seq != headSeq || !walk.hash.equals(headHash))) {
                walk.broken = new Break(walk.id, walk.seq, walk.at, walk.actor, walk.action, walk.subject,
                        "the chain ends at seq " + walk.seq + " but the database recorded its end at seq " + headSeq
                                + ": the newest rows were removed (or audit_head altered)");
            }
            return new Verification(walk.rows, headSeq, headHash, Optional.ofNullable(walk.broken));
        });
    }

    /** The running state of a walk along the chain. */
    private static final class Walk {
        long rows;
        long seq;
        String hash = GENESIS;
        long id;
        Instant at;
        String actor;
        String action;
        String subject;
        Break broken;

        void next(ResultSet rs) throws SQLException {
            long rowId = rs.getLong("id");
            long rowSeq = rs.getLong("seq");
            Instant rowAt = rs.getTimestamp("at").toInstant();
            String rowActor = rs.getString("actor");
            String rowAction = rs.getString("action");
            String rowSubject = rs.getString("subject");
            String prev = rs.getString("prev_hash");
            String stored = rs.getString("hash");
            String reason = null;
            if (rowSeq != seq + 1) {
                reason = "seq " + (seq + 1) + (rowSeq > seq + 2 ? " to " + (rowSeq - 1) : "") + " missing before it: rows were removed";
            } else if (!prev.equals(hash)) {
                reason = "its link does not match the hash of the row before it (seq " + seq
                        + "): that row was changed after this one was written, or the rows were re-ordered";
            } else {
                String computed = hash(rowSeq, rowId, rowAt, rowActor, rowAction, rowSubject, rs.getString("detail"), prev);
                if (!computed.equals(stored)) {
                    reason = "its contents changed after it was written (stored hash " + stored.substring(0, Math.min(12, stored.length()))
                            + "…, its contents hash to " + computed.substring(0, 12) + "…)";
                }
            }
            if (reason != null) {
                broken = new Break(rowId, rowSeq, rowAt, rowActor, rowAction, rowSubject, reason);
                return;
            }
            rows++;
            seq = rowSeq;
            hash = stored;
            id = rowId;
            at = rowAt;
            actor = rowActor;
            action = rowAction;
            subject = rowSubject;
        }
    }

    /** The hash V6's {@code kiln_audit_hash} computes: sha256 over a length-prefixed text of every field. */
    static String hash(long seq, long id, Instant at, String actor, String action, String subject, String detail, String prevHash) {
        long micros = Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000L), at.getNano() / 1000);
        String text = String.join("\n", "kiln-audit-v1", Long.toString(seq), Long.toString(id), Long.toString(micros),
                prefixed(actor), prefixed(action), prefixed(subject), prefixed(detail), prevHash);
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String prefixed(String value) {
        return value.getBytes(StandardCharsets.UTF_8).length + ":" + value;
    }
}
