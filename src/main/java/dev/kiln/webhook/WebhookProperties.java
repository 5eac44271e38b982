package dev.kiln.webhook;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Outgoing webhooks ({@code kiln.webhooks}): where approvals are sent and how hard Kiln tries.
 *
 * @param endpoints   each receiver: a name (stable: deliveries are recorded under it), its URL and its secret
 * @param maxAttempts attempts per delivery before it is marked failed
 * @param firstRetry  the wait after the first failed attempt; each later wait doubles, up to {@code maxRetry}
 * @param maxRetry    the longest wait between attempts
 * @param timeout     an attempt without a response in this long fails
 * @param poll        how often each instance looks for approvals to send and deliveries due
 */
@ConfigurationProperties("kiln.webhooks")
public record WebhookProperties(List<Endpoint> endpoints, Integer maxAttempts, Duration firstRetry, Duration maxRetry, Duration timeout,
                                Duration poll) {

    public WebhookProperties {
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        maxAttempts = maxAttempts == null ? 10 : maxAttempts;
        firstRetry = firstRetry == null ? Duration.ofSeconds(30) : firstRetry;
        maxRetry = maxRetry == null ? Duration.ofHours(1) : maxRetry;
        timeout = timeout == null ? Duration.ofSeconds(10) : timeout;
        poll = poll == null ? Duration.ofSeconds(5) : poll;
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("kiln.webhooks.max-attempts must be at least 1");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < endpoints.size(); i++) {
            Endpoint e = endpoints.get(i);
            String at = "kiln.webhooks.endpoints[" + i + "]";
            if (e.name() == null || !e.name().matches("[a-z0-9][a-z0-9._-]{0,62}")) {
                throw new IllegalArgumentException(at + ".name: '" + e.name() + "' must be 1 to 63 lower-case letters, digits, '.', '_' or '-'");
            }
            if (!names.add(e.name())) {
                throw new IllegalArgumentException(at + ".name: '" + e.name() + "' is used twice");
            }
            if (e.url() == null || e.url().getScheme() == null || !e.url().getScheme().matches("https?") || e.url().getHost() == null) {
                throw new IllegalArgumentException(at + ".url: '" + e.url() + "' is not an http(s) URL");
            }
            if ((e.secret() == null || e.secret().isBlank()) == (e.secretFile() == null)) {
                throw new IllegalArgumentException(at + ": set exactly one of secret and secret-file (the HMAC key receivers check)");
            }
        }
    }

    /**
     * @param secret     the HMAC-SHA256 key, or
     * @param secretFile a file holding it (its first line)
     */
    public record Endpoint(String name, URI url, String secret, Path secretFile) {
    }
}
