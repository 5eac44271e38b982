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
 * the ECR API. This loopback proxy forwards the registry protocol to the registry and, when a tagged
 * manifest is stored, records it in moto with PutImage, which is what ECR's API shows after a push.
 * ECR serves the OCI 1.1 referrers API, which docker-registry 2.8 lacks: the bridge answers it from
 * what moto records (the manifests whose {@code subject} is the digest asked for).
 */
final class EcrRegistryBridge implements AutoCloseable {

    private static final Set<String> HOP = Set.of("host", "connection", "content-length", "expect", "upgrade", "transfer-encoding");
    private static final Pattern MANIFEST = Pattern.compile("^/v2/(.+)/manifests/([^/]+)$");
    private static final Pattern REFERRERS = Pattern.compile("^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$");

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
        Matcher referrers = REFERRERS.matcher(exchange.getRequestURI().getPath());
        if (exchange.getRequestMethod().equals("GET") && referrers.matches()) {
            referrers(exchange, referrers.group(1), referrers.group(2));
            return;
        }
        try {
            byte[] body = exchange.getRequestBody().readAllBytes();
            String method = exchange.getRequestMethod();
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
                // ECR lists every manifest pushed, tagged or not (referrers are pushed by digest)
                String digest = response.headers().firstValue("Docker-Content-Digest").orElseThrow();
                String mediaType = exchange.getRequestHeaders().getFirst("Content-Type");
                boolean byDigest = m.group(2).startsWith("sha256:");
                ecr.putImage(r -> r.repositoryName(m.group(1)).imageTag(byDigest ? null : m.group(2)).imageDigest(digest)
                        .imageManifest(new String(body, StandardCharsets.UTF_8)).imageManifestMediaType(mediaType));
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

    private void referrers(HttpExchange exchange, String repository, String digest) throws IOException {
        tools.jackson.databind.json.JsonMapper json = tools.jackson.databind.json.JsonMapper.builder().build();
        tools.jackson.databind.node.ObjectNode index = json.createObjectNode();
        index.put("schemaVersion", 2);
        index.put("mediaType", "application/vnd.oci.image.index.v1+json");
        tools.jackson.databind.node.ArrayNode manifests = index.putArray("manifests");
        List<software.amazon.awssdk.services.ecr.model.ImageIdentifier> ids = new java.util.ArrayList<>();
        ecr.describeImagesPaginator(r -> r.repositoryName(repository)).imageDetails()
                .forEach(d -> ids.add(software.amazon.awssdk.services.ecr.model.ImageIdentifier.builder().imageDigest(d.imageDigest()).build()));
        for (int from = 0; from < ids.size(); from += 100) {
            List<software.amazon.awssdk.services.ecr.model.ImageIdentifier> batch = ids.subList(from, Math.min(ids.size(), from + 100));
            for (var image : ecr.batchGetImage(r -> r.repositoryName(repository).imageIds(batch)).images()) {
                tools.jackson.databind.JsonNode manifest = json.readTree(image.imageManifest());
                if (digest.equals(manifest.path("subject").path("digest").asString(""))) {
                    tools.jackson.databind.node.ObjectNode d = manifests.addObject();
                    d.put("mediaType", manifest.path("mediaType").asString());
                    d.put("digest", image.imageId().imageDigest());
                    d.put("size", image.imageManifest().getBytes(StandardCharsets.UTF_8).length);
                    if (manifest.hasNonNull("artifactType")) {
                        d.put("artifactType", manifest.get("artifactType").asString());
                    }
                    if (manifest.has("annotations")) {
                        d.set("annotations", manifest.get("annotations"));
                    }
                }
            }
        }
        byte[] body = json.writeValueAsBytes(index);
        exchange.getResponseHeaders().set("Content-Type", "application/vnd.oci.image.index.v1+json");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
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
