package dev.kiln.history;

import dev.kiln.debian.ReleaseMemory;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The service's release memory: tables {@code archive_release} and {@code archive_rebase} (V4). Shared
 * by every instance, so no instance accepts a Release older than one another instance already used.
 */
public final class JdbcReleaseMemory implements ReleaseMemory {

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;

    public JdbcReleaseMemory(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    @Override
    public Optional<Instant> newest(String archiveUrl, String suite) {
        return jdbc.sql("SELECT newest_date FROM archive_release WHERE archive_url = ? AND suite = ?").params(archiveUrl, suite)
                .query((rs, n) -> rs.getTimestamp(1).toInstant()).optional();
    }

    @Override
    public void accepted(String archiveUrl, String suite, Instant date) {
        // GREATEST: two instances accepting different Releases at once keep the newer
        jdbc.sql("""
                        INSERT INTO archive_release (archive_url, suite, newest_date) VALUES (?, ?, ?)
                        ON CONFLICT (archive_url, suite) DO UPDATE
                          SET newest_date = GREATEST(archive_release.newest_date, excluded.newest_date), accepted_at = now()
                          WHERE excluded.newest_date > archive_release.newest_date""")
                .params(archiveUrl, suite, Timestamp.from(date)).update();
    }

    @Override
    public void rebased(String archiveUrl, String suite, Instant from, Instant to, String who, String why) {
        transactions.executeWithoutResult(status -> {
            jdbc.sql("INSERT INTO archive_rebase (archive_url, suite, from_date, to_date, rebased_by, reason) VALUES (?, ?, ?, ?, ?, ?)")
                    .params(archiveUrl, suite, Timestamp.from(from), Timestamp.from(to), who, why).update();
            jdbc.sql("""
                            INSERT INTO archive_release (archive_url, suite, newest_date) VALUES (?, ?, ?)
                            ON CONFLICT (archive_url, suite) DO UPDATE SET newest_date = excluded.newest_date, accepted_at = now()""")
                    .params(archiveUrl, suite, Timestamp.from(to)).update();
        });
    }

    @Override
    public String rebaseHint() {
        return "grant the stack a re-base: POST /api/stacks/{name}/rebase with a reason (platform role)";
    }

    @Override
    public String where() {
        return "PostgreSQL (table archive_release)";
    }
}
