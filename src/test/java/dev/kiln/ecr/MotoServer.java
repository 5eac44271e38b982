package dev.kiln.ecr;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.EcrClientBuilder;

/** moto in server mode (installed by .ci/moto), on a free loopback port: the ECR and KMS APIs for the tests. */
public final class MotoServer implements AutoCloseable {

    private static final Path MOTO = Path.of(System.getenv().getOrDefault("KILN_MOTO",
            System.getProperty("user.home") + "/.cache/kiln/moto/bin/moto_server"));

    private final Process process;
    private final String endpoint;

    public MotoServer(Path logDir) {
        if (!Files.isExecutable(MOTO)) {
            throw new IllegalStateException(MOTO + " is missing: run 'bash .ci/moto' first (or set KILN_MOTO)");
        }
        try {
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            endpoint = "http://127.0.0.1:" + port;
            process = new ProcessBuilder(MOTO.toString(), "-H", "127.0.0.1", "-p", Integer.toString(port))
                    .redirectErrorStream(true).redirectOutput(logDir.resolve("moto.log").toFile()).start();
            HttpClient http = HttpClient.newHttpClient();
            for (int i = 0; i < 200; i++) {
                try {
                    http.send(HttpRequest.newBuilder(URI.create(endpoint + "/moto-api/")).build(), HttpResponse.BodyHandlers.discarding());
                    return;
                } catch (IOException e) {
                    Thread.sleep(100);
                }
            }
            throw new IllegalStateException("moto did not start: " + Files.readString(logDir.resolve("moto.log")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String endpoint() {
        return endpoint;
    }

    /** A client of this server, with test credentials; the caller may add to it before build(). */
    public EcrClientBuilder client() {
        return EcrClient.builder().endpointOverride(URI.create(endpoint)).region(Region.EU_CENTRAL_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")));
    }

    /**
     * Queues a DescribeImageScanFindings answer (moto's {@code /moto-api/static/ecr/scan-finding-results}):
     * the first image of its repository whose findings are asked for after a scan gets it instead of moto's
     * default of one HIGH finding.
     */
    public void scanResult(String region, String response) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(endpoint + "/moto-api/static/ecr/scan-finding-results"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"region\": \"" + region + "\", \"results\": [" + response + "]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 201) {
                throw new IllegalStateException("moto refused the scan result: " + r.statusCode() + " " + r.body());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        process.destroy();
    }
}
