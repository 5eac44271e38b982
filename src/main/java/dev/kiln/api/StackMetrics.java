package dev.kiln.api;

import dev.kiln.history.History;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * Per-stack gauges to alert on, read from the database so every instance reports the same:
 * {@code kiln_stack_last_success_timestamp_seconds} (a build ended succeeded or up to date) and
 * {@code kiln_stack_approved_image_age_seconds}. Refreshed every {@link #EVERY_SECONDS} s in the
 * background, not per scrape; a stack removed from the catalog drops out.
 */
@Component
class StackMetrics implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(StackMetrics.class);
    static final long EVERY_SECONDS = 15;

    private final History history;
    private final Clock clock = Clock.systemUTC();
    private final MultiGauge lastSuccess;
    private final MultiGauge approvedAge;
    private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kiln-stack-metrics");
        t.setDaemon(true);
        return t;
    });

    StackMetrics(History history, MeterRegistry meters) {
        this.history = history;
        this.lastSuccess = MultiGauge.builder("kiln.stack.last.success.timestamp").baseUnit("seconds")
                .description("When a build of the stack last ended well (succeeded or up to date), Unix time; absent before the first")
                .register(meters);
        this.approvedAge = MultiGauge.builder("kiln.stack.approved.image.age").baseUnit("seconds")
                .description("Age of the stack's approved image: time since the build that made it finished; absent while there is none")
                .register(meters);
        refresher.scheduleWithFixedDelay(this::refresh, 0, EVERY_SECONDS, TimeUnit.SECONDS);
    }

    void refresh() {
        try {
            List<History.StackTimes> stacks = history.stackTimes();
            lastSuccess.register(stacks.stream().filter(s -> s.lastSuccess() != null)
                    .map(s -> MultiGauge.Row.of(Tags.of("stack", s.name()), s.lastSuccess().toEpochMilli() / 1000.0)).toList(), true);
            approvedAge.register(stacks.stream().filter(s -> s.approvedAt() != null)
                    .map(s -> MultiGauge.Row.of(Tags.of("stack", s.name()), s.approvedAt(), this::age)).toList(), true);
        } catch (RuntimeException e) {
            log.warn("stack metrics not refreshed: {}", e.toString());
        }
    }

    private double age(Instant approvedAt) {
        return Math.max(0, clock.millis() - approvedAt.toEpochMilli()) / 1000.0;
    }

    @Override
    public void destroy() {
        refresher.shutdownNow();
    }
}
