package dev.kiln.api;

import dev.kiln.history.RemediationTimes;
import dev.kiln.history.WebhookDeliveries;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * Remediation time and webhook deliveries as gauges, from the database (every instance reports the
 * same), refreshed in the background every {@link StackMetrics#EVERY_SECONDS} s:
 * {@code kiln_remediation_seconds{stack,window="30d"|"90d",stat="median"|"worst"}} and
 * {@code kiln_webhook_deliveries{status}}. A stack without an approved package change in a window has no
 * series for it.
 */
@Component
class ReviewMetrics implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(ReviewMetrics.class);

    private final RemediationTimes remediation;
    private final WebhookDeliveries webhooks;
    private final MultiGauge remediationSeconds;
    private final MultiGauge deliveries;
    private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kiln-review-metrics");
        t.setDaemon(true);
        return t;
    });

    ReviewMetrics(RemediationTimes remediation, WebhookDeliveries webhooks, MeterRegistry meters) {
        this.remediation = remediation;
        this.webhooks = webhooks;
        this.remediationSeconds = MultiGauge.builder("kiln.remediation").baseUnit("seconds")
                .description("Remediation time of a stack's approved package changes: from when Kiln first saw a version in the archive "
                        + "to the approval of the image carrying it; median and worst over the last 30 and 90 days")
                .register(meters);
        this.deliveries = MultiGauge.builder("kiln.webhook.deliveries")
                .description("Webhook deliveries recorded, by status (pending, delivered, failed)").register(meters);
        refresher.scheduleWithFixedDelay(this::refresh, 0, StackMetrics.EVERY_SECONDS, TimeUnit.SECONDS);
    }

    void refresh() {
        try {
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            for (int days : List.of(30, 90)) {
                for (RemediationTimes.Summary s : remediation.summary(null, days)) {
                    Tags tags = Tags.of("stack", s.stack(), "window", days + "d");
                    if (s.medianSeconds() != null) {
                        rows.add(MultiGauge.Row.of(tags.and("stat", "median"), s.medianSeconds()));
                    }
                    if (s.worstSeconds() != null) {
                        rows.add(MultiGauge.Row.of(tags.and("stat", "worst"), s.worstSeconds()));
                    }
                }
            }
            remediationSeconds.register(rows, true);
            List<MultiGauge.Row<?>> counts = new ArrayList<>();
            webhooks.counts().forEach((status, n) -> counts.add(MultiGauge.Row.of(Tags.of("status", status), n)));
            deliveries.register(counts, true);
        } catch (RuntimeException e) {
            log.warn("review metrics not refreshed: {}", e.toString());
        }
    }

    @Override
    public void destroy() {
        refresher.shutdownNow();
    }
}
