package dev.kiln.publish;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The registry requests jib-core has no API for: raw manifest reads (jib re-parses manifests into its
 * own templates and drops {@code subject}, {@code artifactType} and annotations), the OCI 1.1 referrers
 * API, tag listing and manifest deletes. Authenticates as the distribution spec says: Basic, or a
 * Bearer token from the challenge's realm (kept per scope). Every response is bounded in size and
 * time: a registry is a peer, not a trusted party.
 */
final class RegistryHttp {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
    static final String ACCEPT_MANIFESTS = String.join(",", Manifest.OCI_MANIFEST, Manifest.OCI_INDEX,
            "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json");

    private final HttpClient http;
    private final String base;
    private final RegistryLogin.Login credential;
    private final Map<String, String> tokens = new ConcurrentHashMap<>();

    RegistryHttp(String host, boolean plainHttp, RegistryLogin.Login credential) {
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(20)).build();
        this.base = (plainHttp ? "http://" : "https://") + host + "/v2/";
        this.credential = credential;
    }

    /** A bounded response: status, headers we use, body (at most the limit asked for). */
    record Response(int status, String contentType, String digest, String link, byte[] body, String location) {
    }

    Response get(String repository, String path, String accept, long maxBytes) {
        return send(repository, "pull", HttpRequest.newBuilder(uri(repository, path)).GET().header("Accept", accept), maxBytes);
    }

    Response head(String repository, String path, String accept) {
        return send(repository, "pull", HttpRequest.newBuilder(uri(repository, path)).method("HEAD", HttpRequest.BodyPublishers.noBody())
                .header("Accept", accept), 0);
    }

    Response delete(String repository, String path) {
        return send(repository, "delete", HttpRequest.newBuilder(uri(repository, path)).DELETE().header("Accept", ACCEPT_MANIFESTS), 1 << 16);
    }

    /** Puts {@code body} at {@code path} of the repository (a manifest) with its media type. */
    Response put(String repository, String path, String contentType, byte[] body) {
        return send(repository, "push", HttpRequest.newBuilder(uri(repository, path)).PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", contentType), 1 << 16);
    }

    /**
     * Uploads a small blob in two requests (distribution spec: POST to open the upload, PUT to the location
     * it answers with the digest and the whole body); 201 when stored.
     */
    Response upload(String repository, String digest, byte[] body) {
        Response opened = send(repository, "push", HttpRequest.newBuilder(uri(repository, "blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()), 1 << 16);
        if (opened.status() != 202 || opened.location() == null) {
            return opened;
        }
        URI location = URI.create(base).resolve(opened.location());
        String separator = location.getRawQuery() == null ? "?" : "&";
        URI put = URI.create(location + separator + "digest=" + URLEncoder.encode(Digests.check(digest), StandardCharsets.UTF_8));
        return send(repository, "push", HttpRequest.newBuilder(put).PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", "application/octet-stream"), 1 << 16);
    }

    /** A blob's body as a stream (the caller bounds and hashes it); 404 gives empty. */
    Optional<InputStream> stream(String repository, String digest) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(repository, "blobs/" + Digests.check(digest))).GET();
        try {
            HttpResponse<InputStream> response = http.send(authorized(request, repository, "pull", null).build(), HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() == 401) {
                response.body().close();
                String token = token(repository, "pull", response.headers().firstValue("WWW-Authenticate").orElse(""));
                response = http.send(authorized(request, repository, "pull", token).build(), HttpResponse.BodyHandlers.ofInputStream());
            }
            if (response.statusCode() == 404) {
                response.body().close();
                return Optional.empty();
            }
            if (response.statusCode() != 200) {
                response.body().close();
                throw new PublishException("GET " + request.build().uri() + " answered HTTP " + response.statusCode());
            }
            return Optional.of(response.body());
        } catch (IOException e) {
            throw new PublishException("GET blob " + digest + " from " + base + repository + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PublishException("interrupted reading " + digest, e);
        }
    }

    private URI uri(String repository, String path) {
        return URI.create(base + repository + "/" + path);
    }

    private Response send(String repository, String action, HttpRequest.Builder request, long maxBytes) {
        request.timeout(Duration.ofSeconds(60));
        try {
            HttpResponse<InputStream> response = http.send(authorized(request, repository, action, null).build(), HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() == 401) {
                response.body().close();
                String token = token(repository, action, response.headers().firstValue("WWW-Authenticate").orElse(""));
                response = http.send(authorized(request, repository, action, token).build(), HttpResponse.BodyHandlers.ofInputStream());
            }
            byte[] body;
            try (InputStream in = response.body()) {
                body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            }
            if (body.length > maxBytes) {
                throw new PublishException(request.build().method() + " " + request.build().uri() + ": the response is larger than " + maxBytes + " bytes");
            }
            return new Response(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""),
                    response.headers().firstValue("Docker-Content-Digest").orElse(null), response.headers().firstValue("Link").orElse(null), body,
                    response.headers().firstValue("Location").orElse(null));
        } catch (IOException e) {
            throw new PublishException(request.build().method() + " " + request.build().uri() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PublishException("interrupted: " + request.build().uri(), e);
        }
    }

    private HttpRequest.Builder authorized(HttpRequest.Builder request, String repository, String action, String fresh) {
        String token = fresh != null ? fresh : tokens.get(repository + ":" + action);
        if (token != null) {
            request.setHeader("Authorization", token.startsWith("Basic ") ? token : "Bearer " + token);
        } else if (credential != null) {
            request.setHeader("Authorization", basic());
        }
        return request;
    }

    private String basic() {
        return "Basic " + Base64.getEncoder().encodeToString((credential.username() + ":" + credential.password()).getBytes(StandardCharsets.UTF_8));
    }

    /** A token for the challenge (or Basic credentials when the registry asks for Basic). */
    private String token(String repository, String action, String challenge) throws IOException, InterruptedException {
        String key = repository + ":" + action;
        if (challenge.regionMatches(true, 0, "Basic", 0, 5)) {
            if (credential == null) {
                throw new PublishException(base + repository + ": the registry asks for credentials and none are configured");
            }
            tokens.put(key, basic());
            return basic();
        }
        if (!challenge.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new PublishException(base + repository + ": unauthorized (challenge '" + challenge + "')");
        }
        Map<String, String> p = new LinkedHashMap<>();
        Matcher m = PARAM.matcher(challenge);
        while (m.find()) {
            p.put(m.group(1), m.group(2));
        }
        String scope = "repository:" + repository + ":" + (action.equals("pull") ? "pull" : action.equals("delete") ? "delete" : "pull,push");
        URI realm = URI.create(p.getOrDefault("realm", ""));
        String url = realm + "?service=" + URLEncoder.encode(p.getOrDefault("service", ""), StandardCharsets.UTF_8)
                + "&scope=" + URLEncoder.encode(scope, StandardCharsets.UTF_8);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET().timeout(Duration.ofSeconds(30));
        if (credential != null) {
            b.header("Authorization", basic());
        }
        HttpResponse<InputStream> response = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        byte[] body;
        try (InputStream in = response.body()) {
            body = in.readNBytes(1 << 20);
        }
        if (response.statusCode() != 200) {
            throw new PublishException("token for " + scope + " refused by " + realm.getHost() + ": HTTP " + response.statusCode());
        }
        JsonNode json = JSON.readTree(body);
        String token = json.hasNonNull("token") ? json.get("token").asString() : json.path("access_token").asString();
        tokens.put(key, token);
        return token;
    }
}
