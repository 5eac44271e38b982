package dev.kiln.schedule;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.Stack;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.PackageSightings;
import dev.kiln.rebuild.BuildRecorder;
import dev.kiln.rebuild.StackLocker;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.Profile;
import org.springframework.stereotype.Component;

/**
 * Watches the archives between builds: every {@code kiln.archive-watch.interval} it resolves each valid
 * stack (nothing is built) and records the package versions it has not seen before, so remediation time
 * starts when a fix reached the archive, not when the next scheduled build happened to look. One
 * instance of a cluster watches per round (a PostgreSQL advisory lock); the others skip it.
 */
@Component
@Profile("serve")
class ArchiveWatch implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(ArchiveWatch.class);
    private static final long LOCK = 7042016;

    /** @param interval how often to resolve every stack; 0 turns the watch off */
    @ConfigurationProperties("kiln.archive-watch")
    record Settings(Duration interval) {
        Settings {
            interval = interval == null ? Duration.ofMinutes(30) : interval;
        }
    }

    private final KilnProperties properties;
    private final CatalogCache catalogs;
    private final StackLocker locker;
    private final BuildRecorder recorder;
    private final DataSource dataSource;
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kiln-archive-watch");
        t.setDaemon(true);
        return t;
    });

    ArchiveWatch(KilnProperties properties, CatalogCache catalogs, KilnConfiguration.Services services, DataSource dataSource, Settings settings) {
        this.properties = properties;
        this.catalogs = catalogs;
        this.locker = services.locker();
        this.recorder = new BuildRecorder(new BuildRecords(dataSource), new PackageSightings(dataSource));
        this.dataSource = dataSource;
        if (!settings.interval().isZero() && !settings.interval().isNegative()) {
            loop.scheduleWithFixedDelay(this::round, settings.interval().toMillis(), settings.interval().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    void round() {
        // a session lock on a connection of its own, held for the round: the round's writes commit as they go
        try (java.sql.Connection lock = dataSource.getConnection()) {
            if (!tryLock(lock)) {
                return;
            }
            try {
                Catalog catalog = catalogs.current();
                int seen = 0;
                for (Stack stack : catalog.stacks()) {
                    try {
                        StackLocker.Outcome outcome = locker.resolve(catalog, stack);
                        if (outcome.ok()) {
                            seen += recorder.seen(stack.name(), outcome.lock());
                        } else {
                            log.info("archive watch: {} does not resolve now: {}", stack.name(), outcome.problems());
                        }
                    } catch (RuntimeException e) {
                        log.warn("archive watch: {}: {}", stack.name(), e.toString());
                    }
                }
                if (seen > 0) {
                    log.info("archive watch: {} package version(s) seen for the first time", seen);
                }
            } finally {
                try (var unlock = lock.prepareStatement("SELECT pg_advisory_unlock(?)")) {
                    unlock.setLong(1, LOCK);
                    unlock.execute();
                }
            }
        } catch (java.sql.SQLException | RuntimeException e) {
            log.warn("archive watch round failed: {}", e.toString());
        }
    }

    private static boolean tryLock(java.sql.Connection c) throws java.sql.SQLException {
        try (var s = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
            s.setLong(1, LOCK);
            try (var rs = s.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    @Override
    public void destroy() {
        loop.shutdownNow();
    }
}
