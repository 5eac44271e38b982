package dev.kiln.api;

import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.publish.Target;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Health of the peers a build needs besides the database (which Spring reports itself): the image
 * target and the Debian archives the catalog names. A registry that answers {@code /v2/} with 200 or
 * 401 is up; an archive is up when its first suite's InRelease answers.
 */
@Configuration(proxyBeanMethods = false)
class PeerHealth {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    @Bean
    HealthIndicator registry(KilnProperties properties) {
        return cached(() -> {
            Target target = Target.parse(properties.build().target());
            if (target instanceof Target.Local) {
                var store = properties.dataDir().resolve("store");
                boolean ok = Files.isDirectory(store) ? Files.isWritable(store) : Files.isWritable(properties.dataDir())
                        || !Files.exists(properties.dataDir());
                return (ok ? Health.up() : Health.down()).withDetail("target", "local").withDetail("store", store.toString()).build();
            }
            if (!(target instanceof Target.Registry registry)) {
                // ECR: the SDK's credential and region chains decide; a failing build says why
                return Health.unknown().withDetail("target", target.toString()).build();
            }
            boolean insecure = properties.build().insecureRegistries().contains(registry.host()) || registry.loopback();
            String url = (insecure ? "http://" : "https://") + registry.host() + "/v2/";
            return probe(url, code -> code == 200 || code == 401).withDetail("target", target.toString()).build();
        });
    }

    @Bean
    HealthIndicator archive(KilnProperties properties) {
        return cached(() -> {
            Catalog catalog = Catalog.load(properties.catalog());
            Map<String, String> mirrors = new LinkedHashMap<>();
            properties.mirrors().forEach(m -> mirrors.put(m.archive(), m.url()));
            TreeSet<String> urls = new TreeSet<>();
            for (Stack stack : catalog.stacks()) {
                for (Stack.Archive a : stack.source().archives()) {
                    urls.add(mirrors.getOrDefault(a.url(), a.url()).replaceAll("/+$", "") + "/dists/" + a.suites().get(0) + "/InRelease");
                }
            }
            Health.Builder health = Health.up();
            for (String url : urls) {
                Health h = probe(url, code -> code == 200).build();
                health.withDetail(url, h.getStatus().getCode() + h.getDetails().getOrDefault("reason", ""));
                if (!h.getStatus().equals(org.springframework.boot.health.contributor.Status.UP)) {
                    health.down();
                }
            }
            return health.build();
        });
    }

    /**
     * Probes answer from a result at most {@link #FRESH} old: health is polled every few seconds, and each
     * poll must not become a request to the registry and to every archive.
     */
    private static HealthIndicator cached(java.util.function.Supplier<Health> check) {
        java.util.concurrent.atomic.AtomicReference<Health> last = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicLong checkedAt = new java.util.concurrent.atomic.AtomicLong();
        return () -> {
            long now = System.nanoTime();
            Health health = last.get();
            if (health == null || now - checkedAt.get() > FRESH.toNanos()) {
                health = check.get();
                last.set(health);
                checkedAt.set(now);
            }
            return health;
        };
    }

    private static final Duration FRESH = Duration.ofSeconds(30);

    private static Health.Builder probe(String url, java.util.function.IntPredicate good) {
        try {
            HttpResponse<Void> response = HTTP.send(HttpRequest.newBuilder(URI.create(url)).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
            return (good.test(response.statusCode()) ? Health.up() : Health.down().withDetail("reason", " (HTTP " + response.statusCode() + ")"))
                    .withDetail("url", url);
        } catch (java.io.IOException e) {
            return Health.down().withDetail("url", url).withDetail("reason", " (" + e + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Health.unknown().withDetail("url", url);
        }
    }
}
