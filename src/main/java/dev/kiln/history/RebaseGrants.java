package dev.kiln.history;

import dev.kiln.debian.DebianArchive;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The service's re-bases (table {@code rebase_grant}, V14): a platform user's leave for a stack's next
 * build to accept older Releases and lower versions, the service's counterpart of
 * {@code kiln lock --rebase=REASON}. Granted with who and why, used once by the build that publishes
 * with it; both steps go into the audit trail.
 */
public final class RebaseGrants {

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;

    public RebaseGrants(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /** A re-base granted and not yet used. */
    public record Grant(long id, String stack, String by, String reason, Instant at) {
    }

    /** Grants {@code stack}'s next build a re-base; one already open for it is an {@link IllegalStateException} naming it. */
    public Grant grant(String stack, String by, String reason) {
        try {
            return transactions.execute(status -> {
                Grant grant = jdbc.sql("INSERT INTO rebase_grant (stack, granted_by, reason) VALUES (?, ?, ?) RETURNING id, granted_at")
                        .params(stack, by, reason)
                        .query((rs, n) -> new Grant(rs.getLong("id"), stack, by, reason, rs.getTimestamp("granted_at").toInstant())).single();
                audit(by, "stack.rebase-granted", stack, Map.of("grant", grant.id(), "reason", reason));
                return grant;
            });
        } catch (DuplicateKeyException e) {
            // read after the rollback: the failed insert ended the transaction
            Grant open = open(stack).orElseThrow(() -> e);
            throw new IllegalStateException(stack + " already has a re-base granted by " + open.by() + " at " + open.at() + " ("
                    + open.reason() + "), not used yet: its next build will use it");
        }
    }

    /** The re-base granted to {@code stack} and not used yet, if any. */
    public Optional<Grant> open(String stack) {
        return jdbc.sql("SELECT id, granted_by, reason, granted_at FROM rebase_grant WHERE stack = ? AND used_at IS NULL").param(stack)
                .query((rs, n) -> new Grant(rs.getLong("id"), stack, rs.getString("granted_by"), rs.getString("reason"),
                        rs.getTimestamp("granted_at").toInstant())).optional();
    }

    /**
     * Marks {@code grant} used by {@code build}, with the suites it moved back (none when the archive
     * had not gone back) and how many package versions went down. False when it was used already.
     */
    public boolean used(Grant grant, long build, List<DebianArchive.Rebased> moves, int downgrades) {
        return Boolean.TRUE.equals(transactions.execute(status -> {
            int updated = jdbc.sql("UPDATE rebase_grant SET used_by_build = ?, used_at = now() WHERE id = ? AND used_at IS NULL")
                    .params(build, grant.id()).update();
            if (updated == 0) {
                return false;
            }
            audit(grant.by(), "stack.rebased", grant.stack(), Map.of("grant", grant.id(), "build", build, "reason", grant.reason(),
                    "suites", moves.stream().map(m -> Map.of("archive", m.archiveUrl(), "suite", m.suite(), "from", m.from().toString(),
                            "to", m.to().toString())).toList(), "downgrades", downgrades));
            return true;
        }));
    }

    private void audit(String actor, String action, String subject, Object detail) {
        History.audit(jdbc, actor, action, subject, detail);
    }
}
