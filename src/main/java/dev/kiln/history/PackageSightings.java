package dev.kiln.history;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * When Kiln first saw each package version in an archive: the start of its remediation time. Every
 * resolution records the versions it picked; a version already seen keeps its first sighting.
 */
public final class PackageSightings {

    private final JdbcTemplate jdbc;

    public PackageSightings(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
    }

    /** One package version as a resolution found it, with the Date of the Release it was in (null if unknown). */
    public record Sighting(String name, String version, String architecture, String suite, Instant releaseDate) {
    }

    /** Records the versions not seen before; returns how many were new. */
    public int seen(String stack, List<Sighting> sightings) {
        if (sightings.isEmpty()) {
            return 0;
        }
        List<Object[]> rows = new ArrayList<>();
        for (Sighting s : sightings) {
            rows.add(new Object[] {s.name(), s.version(), s.architecture(), stack, s.suite(),
                    s.releaseDate() == null ? null : Timestamp.from(s.releaseDate())});
        }
        int[][] counts = jdbc.batchUpdate("""
                INSERT INTO package_seen (name, version, architecture, stack, suite, release_date) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (name, version, architecture) DO NOTHING""", rows, 500, (ps, row) -> {
            for (int i = 0; i < row.length; i++) {
                ps.setObject(i + 1, row[i]);
            }
        });
        int added = 0;
        for (int[] batch : counts) {
            for (int c : batch) {
                added += Math.max(c, 0);
            }
        }
        return added;
    }
}
