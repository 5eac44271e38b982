package dev.kiln.api;

import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.Stack;
import dev.kiln.publish.Target;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntPredicate;
import java.util.function.Supplier;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Health of the peers a build needs besides the database (which Spring reports itself): the image
 * target and the Debian archives the catalog names. A registry that answers {@code /v2/} with 200 or
 * 401 is up; an archive is up when its first suite's InRelease answers.
 *
 * <p>They are optional for the service's own health: a peer that is down or slow reports
 * {@link #DEGRADED}, which ranks below UP (application.yaml), so the overall status and readiness stay
 * UP while the {@code peers} group says what is wrong. And no probe waits for them: checks run in the
 * background at most every {@link #FRESH}, and health answers from the last result.
 */
@Configuration(proxyBeanMethods = false)
class PeerHealth {

    static final Status DEGRADED = new Status("DEGRADED", "an optional peer is down or slow; builds that need it fail until it is back");
    private static final Duration FRESH = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(4);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(TIMEOUT)
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    @Bean(destroyMethod = "shutdownNow")
    ExecutorService peerChecks() {
        return Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "kiln-peer-health");
            t.setDaemon(true);
            return t;
        });
    }

    @Bean
    HealthIndicator registry(KilnProperties properties, ExecutorService peerChecks) {
        return new Background(peerChecks, () -> {
            Target target = Target.parse(properties.build().target());
            if (target instanceof Target.Local) {
                var store = properties.dataDir().resolve("store");
                boolean ok = Files.isDirectory(store) ? Files.isWritable(store) : Files.isWritable(properties.dataDir())
                        || !Files.exists(properties.dataDir());
                return (ok ? Health.up() : Health.status(DEGRADED)).withDetail("target", "local").withDetail("store", store.toString());
            }
            if (!(target instanceof Target.Registry registry)) {
                // ECR: the SDK's credential and region chains decide; a failing build says why
                return Health.unknown().withDetail("target", target.toString());
            }
            boolean insecure = properties.build().insecureRegistries().contains(registry.host()) || registry.loopback();
            String url = (insecure ? "http://" : "https://") + registry.host() + "/v2/";
            Health probe = probe(url, code -> code == 200 || code == 401).join();
            return Health.status(probe.getStatus()).withDetails(probe.getDetails()).withDetail("target", target.toString());
        });
    }

    @Bean
    HealthIndicator archive(KilnProperties properties, CatalogCache catalogs, ExecutorService peerChecks) {
        return new Background(peerChecks, () -> {
            Catalog catalog = catalogs.current();
            Map<String, String> mirrors = new LinkedHashMap<>();
            properties.mirrors().forEach(m -> mirrors.put(m.archive(), m.url()));
            TreeSet<String> urls = new TreeSet<>();
            for (Stack stack : catalog.stacks()) {
                for (Stack.Archive a : stack.source().archives()) {
                    urls.add(mirrors.getOrDefault(a.url(), a.url()).replaceAll("/+$", "") + "/dists/" + a.suites().get(0) + "/InRelease");
                }
            }
            // every archive at once: a slow one costs one timeout, not one per archive
            List<CompletableFuture<Health>> probes = urls.stream().map(u -> probe(u, code -> code == 200)).toList();
            Health.Builder health = Health.up();
            for (CompletableFuture<Health> p : probes) {
                Health h = p.join();
                health.withDetail(String.valueOf(h.getDetails().get("url")), h.getStatus().getCode() + h.getDetails().getOrDefault("reason", ""));
                if (!h.getStatus().equals(Status.UP)) {
                    health.status(DEGRADED);
                }
            }
            return health;
        });
    }

    /**
     * A check run in the background, the first at start: health answers from the last result (with when
     * it was taken) and starts a new check when that is older than {@link #FRESH}. Only before the first
     * result does it wait, briefly, and then says UNKNOWN.
     */
    private static final class Background implements HealthIndicator {
        private final ExecutorService executor;
        private final Supplier<Health.Builder> check;
        private final AtomicBoolean running = new AtomicBoolean();
        private final CountDownLatch first = new CountDownLatch(1);
        private volatile Health last;
        private volatile Instant checkedAt = Instant.EPOCH;

        Background(ExecutorService executor, Supplier<Health.Builder> check) {
            this.executor = executor;
            this.check = check;
            start();
        }

        @Override
        public Health health() {
            if (checkedAt.plus(FRESH).isBefore(Instant.now())) {
                start();
            }
            Health health = last;
            if (health == null) {
                try {
                    first.await(2, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                health = last;
            }
            return health != null ? health : Health.unknown().withDetail("checking", "the first check is under way").build();
        }

        private void start() {
            if (running.compareAndSet(false, true)) {
                try {
                    executor.execute(this::refresh);
                } catch (RuntimeException e) {
                    running.set(false);
                }
            }
        }

        private void refresh() {
            Instant now = Instant.now();
            try {
                last = check.get().withDetail("checkedAt", now.toString()).build();
            } catch (RuntimeException e) {
                last = Health.status(DEGRADED).withDetail("reason", e.getClass().getSimpleName()).withDetail("checkedAt", now.toString())
                        .build();
            } finally {
                checkedAt = now;
                running.set(false);
                first.countDown();
            }
        }
    }

    /** UP when the answer's status is good; DEGRADED with the reason when not, or when it takes longer than {@link #TIMEOUT}. */
    private static CompletableFuture<Health> probe(String url, IntPredicate good) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(TIMEOUT).build();
        return HTTP.sendAsync(request, HttpResponse.BodyHandlers.discarding())
                .orTimeout(TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS)
                .handle((response, failure) -> {
                    if (failure != null) {
                        Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
                        return Health.status(DEGRADED).withDetail("url", url).withDetail("reason", " (" + cause.getClass().getSimpleName() + ")")
                                .build();
                    }
                    return (good.test(response.statusCode()) ? Health.up()
                            : Health.status(DEGRADED).withDetail("reason", " (HTTP " + response.statusCode() + ")")).withDetail("url", url).build();
                });
    }
}
