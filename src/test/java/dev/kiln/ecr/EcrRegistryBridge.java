package dev.kiln.ecr;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.ecr.EcrClient;

/**
 * ECR made of two real parts for an end-to-end test: Debian's docker-registry holds the images, moto
 * the ECR API. This loopback proxy forwards the registry protocol to the registry and, when a manifest is
 * stored (by tag or by digest), records it in moto with PutImage, which is what ECR's API shows after a
 * push. ECR serves the OCI 1.1 referrers API and Debian's registry does not, so the bridge answers it as
 * ECR does: from the manifests stored with a {@code subject} that ECR (moto) still holds.
 */
final class EcrRegistryBridge implements AutoCloseable {

    private static final Set<String> HOP = Set.of("host", "connection", "content-length", "expect", "upgrade", "transfer-encoding");
    private static final Pattern MANIFEST = Pattern.compile("^/v2/(.+)/manifests/([^/]+)$");
    private static final Pattern REFERRERS = Pattern.compile("^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$");
    private static final tools.jackson.databind.json.JsonMapper JSON = tools.jackson.databind.json.JsonMapper.builder().build();
    /** repository + subject digest -> the referrers' descriptors, in push order */
    private final java.util.Map<String, java.util.Map<String, tools.jackson.databind.node.ObjectNode>> referrers =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final HttpServer server;
    private final ServerSocket front;
    private final HttpClient http = HttpClient.newHttpClient();
    private final String registry;
    private final EcrClient ecr;

    EcrRegistryBridge(String registry, EcrClient ecr) throws IOException {
        this.registry = registry;
        this.ecr = ecr;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::forward);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.start();
        front = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "ecr-bridge-front");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String address() {
        return "localhost:" + front.getLocalPort();
    }

    /**
     * jib tries HTTPS first. The JDK's HTTP server would wait for a request line in the TLS handshake
     * until jib times out (Go's registry answers it with a 400 at once), so a front door closes
     * connections that open with a TLS record and relays the others to the server.
     */
    private void accept() {
        while (!front.isClosed()) {
            try {
                Socket client = front.accept();
                Thread t = new Thread(() -> relay(client), "ecr-bridge-relay");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void relay(Socket client) {
        try (client; Socket upstream = new Socket(java.net.InetAddress.getLoopbackAddress(), server.getAddress().getPort())) {
            int first = client.getInputStream().read();
            if (first < 0 || first == 0x16) {
                return;
            }
            upstream.getOutputStream().write(first);
            Thread back = new Thread(() -> pump(upstream, client), "ecr-bridge-back");
            back.setDaemon(true);
            back.start();
            pump(client, upstream);
            back.join();
        } catch (IOException | InterruptedException e) {
            // the connection ended
        }
    }

    private static void pump(Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            to.shutdownOutput();
        } catch (IOException e) {
            // closed on the other side
        }
    }

    private void forward(HttpExchange exchange) throws IOException {
        try {
            byte[] body = exchange.getRequestBody().readAllBytes();
            String method = exchange.getRequestMethod();
            Matcher r = REFERRERS.matcher(exchange.getRequestURI().getPath());
            if (method.equals("GET") && r.matches()) {
                referrers(exchange, r.group(1), r.group(2));
                return;
            }
            URI target = URI.create("http://" + registry + exchange.getRequestURI());
            HttpRequest.Builder request = HttpRequest.newBuilder(target)
                    .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            exchange.getRequestHeaders().forEach((name, values) -> {
                if (!HOP.contains(name.toLowerCase())) {
                    values.forEach(v -> request.header(name, v));
                }
            });
            HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            Matcher m = MANIFEST.matcher(exchange.getRequestURI().getPath());
            if (method.equals("PUT") && response.statusCode() == 201 && m.matches()) {
                String digest = response.headers().firstValue("Docker-Content-Digest").orElseThrow();
                String mediaType = exchange.getRequestHeaders().getFirst("Content-Type");
                String manifest = new String(body, StandardCharsets.UTF_8);
                boolean byDigest = m.group(2).startsWith("sha256:");
                ecr.putImage(p -> {
                    p.repositoryName(m.group(1)).imageDigest(digest).imageManifest(manifest).imageManifestMediaType(mediaType);
                    if (!byDigest) {
                        p.imageTag(m.group(2));
                    }
                });
                remember(m.group(1), digest, mediaType, body);
            }
            response.headers().map().forEach((name, values) -> {
                if (!HOP.contains(name.toLowerCase()) && !name.startsWith(":")) {
                    exchange.getResponseHeaders().put(name, List.copyOf(values));
                }
            });
            boolean empty = method.equals("HEAD") || response.body().length == 0;
            if (method.equals("HEAD")) {
                response.headers().firstValue("Content-Length").ifPresent(v -> exchange.getResponseHeaders().set("Content-Length", v));
            }
            exchange.sendResponseHeaders(response.statusCode(), empty ? -1 : response.body().length);
            if (!empty) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(response.body());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exchange.sendResponseHeaders(502, -1);
        } catch (RuntimeException e) {
            byte[] text = e.toString().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(502, text.length);
            exchange.getResponseBody().write(text);
        } finally {
            exchange.close();
        }
    }

    /** A manifest with a subject is one of that subject's referrers (its descriptor as the referrers API lists it). */
    private void remember(String repository, String digest, String mediaType, byte[] body) {
        tools.jackson.databind.JsonNode manifest = JSON.readTree(body);
        String subject = manifest.path("subject").path("digest").asString("");
        if (subject.isEmpty()) {
            return;
        }
        tools.jackson.databind.node.ObjectNode d = JSON.createObjectNode();
        d.put("mediaType", manifest.path("mediaType").asString(mediaType));
        d.put("digest", digest);
        d.put("size", body.length);
        String artifactType = manifest.path("artifactType").asString(manifest.path("config").path("mediaType").asString(""));
        d.put("artifactType", artifactType);
        if (manifest.path("annotations").isObject()) {
            d.set("annotations", manifest.get("annotations"));
        }
        referrers.computeIfAbsent(repository + "@" + subject, k -> new java.util.concurrent.ConcurrentSkipListMap<>()).put(digest, d);
    }

    /** GET /v2/REPO/referrers/DIGEST as ECR answers it: an image index of the referrers ECR still holds. */
    private void referrers(HttpExchange exchange, String repository, String subject) throws IOException {
        java.util.Set<String> held = new java.util.HashSet<>();
        try {
            ecr.listImagesPaginator(q -> q.repositoryName(repository)).imageIds().forEach(i -> held.add(i.imageDigest()));
        } catch (software.amazon.awssdk.services.ecr.model.RepositoryNotFoundException e) {
            // no repository: no referrers
        }
        tools.jackson.databind.node.ObjectNode index = JSON.createObjectNode();
        index.put("schemaVersion", 2);
        index.put("mediaType", "application/vnd.oci.image.index.v1+json");
        tools.jackson.databind.node.ArrayNode list = index.putArray("manifests");
        referrers.getOrDefault(repository + "@" + subject, java.util.Map.of()).forEach((digest, d) -> {
            if (held.contains(digest)) {
                list.add(d);
            }
        });
        byte[] bytes = JSON.writeValueAsBytes(index);
        exchange.getResponseHeaders().set("Content-Type", "application/vnd.oci.image.index.v1+json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
        exchange.close();
    }

    @Override
    public void close() {
        try {
            front.close();
        } catch (IOException e) {
            // closing anyway
        }
        server.stop(0);
    }
}
