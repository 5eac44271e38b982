package dev.kiln;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.kiln.testing.TestArchive;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive client's HTTP client against a real HTTPS server (the JDK's, with a certificate keytool
 * makes): TLS is set up only when a TLS connection is made, then works, and the JDK's default trust
 * still refuses a certificate it does not know.
 */
class LazySslContextTest {

    @Test
    void buildsTheRealContextOnlyForTlsAndThenVerifiesAsTheJdkDefaultDoes(@TempDir Path tmp) throws Exception {
        Path store = tmp.resolve("server.p12");
        TestArchive.run(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "secret", "-alias", "server",
                "-keyalg", "EC", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-validity", "2"));
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, "secret".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, "secret".toCharArray());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(keys);
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        SSLContext trusting = SSLContext.getInstance("TLS");
        trusting.init(null, tmf.getTrustManagers(), null);

        HttpsServer https = HttpsServer.create(new InetSocketAddress("localhost", 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(serverTls));
        HttpServer http = HttpServer.create(new InetSocketAddress("localhost", 0), 0);
        for (HttpServer server : List.of(https, http)) {
            server.createContext("/", exchange -> {
                byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.start();
        }
        try {
            AtomicInteger built = new AtomicInteger();
            HttpClient client = KilnConfiguration.httpClient(new LazySslContext(() -> {
                built.incrementAndGet();
                return trusting;
            }));
            assertThat(get(client, "http://localhost:" + http.getAddress().getPort() + "/")).isEqualTo("ok");
            assertThat(built).as("plain HTTP sets up no TLS").hasValue(0);
            assertThat(get(client, "https://localhost:" + https.getAddress().getPort() + "/")).isEqualTo("ok");
            assertThat(get(client, "https://localhost:" + https.getAddress().getPort() + "/again")).isEqualTo("ok");
            assertThat(built).hasValue(1);

            // the client Kiln uses: the JDK's CA store does not know this certificate
            assertThatThrownBy(() -> get(KilnConfiguration.httpClient(), "https://localhost:" + https.getAddress().getPort() + "/"))
                    .isInstanceOf(SSLHandshakeException.class);
        } finally {
            https.stop(0);
            http.stop(0);
        }
    }

    private static String get(HttpClient client, String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }
}
