package dev.kiln.webhook;

import dev.kiln.history.History;
import dev.kiln.history.WebhookDeliveries;
import dev.kiln.publish.Target;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends {@code image.approved} to every configured endpoint when a build is approved, so downstream
 * application images rebuild. The approvals come from the build history itself (an outbox nothing can
 * skip), each delivery is claimed by one instance, signed with HMAC-SHA256 over the timestamp and the
 * body ({@code Kiln-Signature: t=UNIX,v1=HEX}), retried with doubling waits on any answer but 2xx
 * (redirects included: a receiver's URL is configured, never followed), and every attempt recorded.
 */
public final class WebhookSender implements AutoCloseable {

    public static final String EVENT = "image.approved";
    private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);
    private static final int BATCH = 20;
    private static final tools.jackson.databind.json.JsonMapper JSON = tools.jackson.databind.json.JsonMapper.builder().build();

    private final WebhookProperties settings;
    private final WebhookDeliveries deliveries;
    private final History history;
    private final String userAgent;
    private final Clock clock;
    private final HttpClient http;
    private final Map<String, Receiver> receivers = new LinkedHashMap<>();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kiln-webhooks");
        t.setDaemon(true);
        return t;
    });

    private record Receiver(WebhookProperties.Endpoint endpoint, byte[] key) {
    }

    public WebhookSender(WebhookProperties settings, WebhookDeliveries deliveries, History history, String kilnVersion, Clock clock) {
        this.settings = settings;
        this.deliveries = deliveries;
        this.history = history;
        this.userAgent = "Kiln/" + kilnVersion;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(settings.timeout()).followRedirects(HttpClient.Redirect.NEVER).build();
        for (WebhookProperties.Endpoint e : settings.endpoints()) {
            receivers.put(e.name(), new Receiver(e, key(e)));
        }
    }

    private volatile boolean closing;

    /** Records the endpoints and starts sending (each instance polls; the database hands each delivery to one). */
    public void start() {
        if (receivers.isEmpty()) {
            return;
        }
        receivers.values().forEach(r -> deliveries.endpoint(r.endpoint().name(), r.endpoint().url().toString()));
        loop.scheduleWithFixedDelay(this::tick, 0, settings.poll().toMillis(), TimeUnit.MILLISECONDS);
        log.info("webhooks: sending {} to {}", EVENT, receivers.keySet());
    }

    /** One round: approvals without a delivery get one, then every delivery due is attempted. */
    void tick() {
        try {
            for (Receiver r : receivers.values()) {
                for (WebhookDeliveries.Approved a : deliveries.undelivered(r.endpoint().name(), EVENT, BATCH)) {
                    history.build(a.build()).ifPresent(b -> deliveries.enqueue(r.endpoint().name(), EVENT, b.id(), payload(b)));
                }
            }
            List<WebhookDeliveries.Due> claimed = deliveries.claim(BATCH, settings.timeout().multipliedBy(3));
            for (int i = 0; i < claimed.size(); i++) {
                if (closing) {
                    // given back rather than left to the lease, so a restart does not hold them back behind newer ones
                    deliveries.release(claimed.subList(i, claimed.size()).stream().map(WebhookDeliveries.Due::id).toList());
                    break;
                }
                attempt(claimed.get(i));
            }
        } catch (RuntimeException e) {
            log.warn("webhooks: round failed: {}", e.toString());
        }
    }

    private void attempt(WebhookDeliveries.Due due) {
        Receiver r = receivers.get(due.endpoint());
        int attempt = due.attempts() + 1;
        if (r == null) {
            // an endpoint no longer configured: its deliveries end here, recorded
            deliveries.attempted(due.id(), attempt, null, "endpoint '" + due.endpoint() + "' is no longer configured", 0, false, null);
            return;
        }
        long timestamp = clock.instant().getEpochSecond();
        byte[] body = due.payload().getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        Integer status = null;
        String error = null;
        try {
            HttpResponse<Void> response = http.send(HttpRequest.newBuilder(r.endpoint().url()).timeout(settings.timeout())
                    .header("Content-Type", "application/json")
                    .header("User-Agent", userAgent)
                    .header("Kiln-Event", due.event())
                    .header("Kiln-Delivery", Long.toString(due.id()))
                    .header("Kiln-Signature", "t=" + timestamp + ",v1=" + sign(r.key(), timestamp, body))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.discarding());
            status = response.statusCode();
            if (status < 200 || status > 299) {
                error = "HTTP " + status;
            }
        } catch (IOException e) {
            error = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        } catch (InterruptedException e) {
            // stopped by our own shutdown, not the receiver's failure: not counted, sent again once the claim's lease runs out
            Thread.currentThread().interrupt();
            log.info("webhook {} to {} (build {}) attempt {} interrupted by shutdown; it is sent again later", due.id(), due.endpoint(),
                    due.build(), attempt);
            return;
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        boolean delivered = error == null;
        Duration retry = delivered || attempt >= settings.maxAttempts() ? null : backoff(attempt);
        deliveries.attempted(due.id(), attempt, status, error, millis, delivered, retry);
        if (delivered) {
            log.info("webhook {} delivered to {} (build {}, attempt {})", due.id(), due.endpoint(), due.build(), attempt);
        } else {
            log.warn("webhook {} to {} (build {}) attempt {} failed: {}; {}", due.id(), due.endpoint(), due.build(), attempt, error,
                    retry == null ? "giving up" : "next in " + retry.toSeconds() + " s");
        }
    }

    /** The wait after failed attempt {@code n} (1-based): firstRetry, doubled each time, at most maxRetry. */
    Duration backoff(int n) {
        Duration wait = settings.firstRetry().multipliedBy(1L << Math.min(n - 1, 30));
        return wait.compareTo(settings.maxRetry()) > 0 || wait.isNegative() ? settings.maxRetry() : wait;
    }

    /** HMAC-SHA256 over {@code TIMESTAMP.BODY}, hex: what a receiver recomputes with its copy of the secret. */
    public static String sign(byte[] key, long timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((timestamp + ".").getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What receivers get: the approved image and what changed, enough to rebuild FROM it by digest. */
    static Map<String, Object> payload(History.Build b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", EVENT);
        m.put("stack", b.stack());
        m.put("build", b.id());
        m.put("digest", b.imageDigest());
        m.put("tag", b.tags() == null || b.tags().isEmpty() ? null : b.tags().get(0).asString());
        m.put("reference", b.reference());
        m.put("pull", Target.pullReference(b.target(), b.repository(), b.imageDigest()).orElse(null));
        m.put("approvedAt", b.finishedAt() == null ? null : b.finishedAt().toString());
        m.put("previousBuild", b.previousBuildId());
        m.put("packageChanges", b.packageDiff() == null ? List.of() : JSON.convertValue(b.packageDiff(), List.class));
        return m;
    }

    private static byte[] key(WebhookProperties.Endpoint e) {
        try {
            String secret = e.secretFile() != null ? Files.readString(e.secretFile()).lines().findFirst().orElse("").strip() : e.secret();
            if (secret.length() < 16) {
                throw new IllegalArgumentException("webhook '" + e.name() + "': the secret must be at least 16 characters");
            }
            return secret.getBytes(StandardCharsets.UTF_8);
        } catch (IOException x) {
            throw new IllegalArgumentException("webhook '" + e.name() + "': secret-file " + e.secretFile() + ": " + x.getMessage());
        }
    }

    /** Lets an attempt in flight end (within its timeout) so a restart does not cut it; then stops. */
    @Override
    public void close() {
        closing = true;
        loop.shutdown();
        try {
            if (!loop.awaitTermination(settings.timeout().toMillis() + 1000, TimeUnit.MILLISECONDS)) {
                loop.shutdownNow();
            }
        } catch (InterruptedException e) {
            loop.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
