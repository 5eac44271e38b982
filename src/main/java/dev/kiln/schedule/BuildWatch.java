package dev.kiln.schedule;

import dev.kiln.KilnProperties;
import dev.kiln.history.History;
import dev.kiln.rebuild.Rebuilds;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.context.annotation.Profile;
import org.springframework.stereotype.Component;

/**
 * Keeps running builds honest: this instance reports its builds alive every heartbeat (and stops those
 * someone asked to cancel), and every instance marks failed the builds whose instance stopped
 * reporting, so no build stays "running" forever after a crash (Quartz then re-runs the lost job
 * elsewhere, see {@link StackJob}).
 */
@Component
@Profile("serve")
class BuildWatch implements InitializingBean, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(BuildWatch.class);

    private final Rebuilds rebuilds;
    private final History history;
    private final KilnProperties.Service settings;
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kiln-build-watch");
        t.setDaemon(true);
        return t;
    });

    BuildWatch(Rebuilds rebuilds, History history, KilnProperties properties) {
        this.rebuilds = rebuilds;
        this.history = history;
        this.settings = properties.service();
    }

    @Override
    public void afterPropertiesSet() {
        long beat = settings.heartbeat().toMillis();
        executor.scheduleWithFixedDelay(this::beat, beat, beat, TimeUnit.MILLISECONDS);
        long sweep = Math.max(beat, settings.staleAfter().toMillis() / 4);
        executor.scheduleWithFixedDelay(this::sweep, sweep, sweep, TimeUnit.MILLISECONDS);
    }

    private void beat() {
        try {
            // a cancel asked for on any instance reaches the one running the build here, within a heartbeat
            for (long id : history.heartbeat(rebuilds.running())) {
                if (rebuilds.cancel(id)) {
                    log.info("build {}: cancel requested, stopping it", id);
                }
            }
        } catch (RuntimeException e) {
            log.warn("heartbeat: {}", e.getMessage());
        }
    }

    private void sweep() {
        try {
            List<Long> abandoned = history.abandonStale(settings.staleAfter(), settings.queuedFor());
            if (!abandoned.isEmpty()) {
                log.warn("marked failed, their instance stopped reporting: builds {}", abandoned);
            }
        } catch (RuntimeException e) {
            log.warn("sweeping stale builds: {}", e.getMessage());
        }
    }

    @Override
    public void destroy() {
        executor.shutdownNow();
    }
}
