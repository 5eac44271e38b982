package dev.kiln.api;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;

/**
 * An OpenID Connect issuer for tests: serves its discovery document and its JWK set over HTTP on
 * loopback, and signs tokens with its RSA key (or with a key it does not publish, for forgeries).
 */
final class TestIssuer implements AutoCloseable {

    private final HttpServer server;
    private final RSAKey key;
    private final RSAKey stranger;

    TestIssuer() throws IOException, JOSEException {
        key = new RSAKeyGenerator(2048).keyID("kiln-test").generate();
        stranger = new RSAKeyGenerator(2048).keyID("kiln-test").generate();
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/.well-known/openid-configuration", exchange -> respond(exchange, """
                {"issuer": "%s", "jwks_uri": "%s/jwks", "id_token_signing_alg_values_supported": ["RS256"]}"""
                .formatted(url(), url())));
        server.createContext("/jwks", exchange -> respond(exchange, new JWKSet(key.toPublicJWK()).toString()));
        server.start();
    }

    private static void respond(com.sun.net.httpserver.HttpExchange exchange, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** A token of this issuer for {@code user} with these claims, valid for five minutes. */
    String token(String user, Map<String, Object> claims) {
        return sign(key, url(), user, claims, Instant.now().plus(Duration.ofMinutes(5)));
    }

    String expired(String user, Map<String, Object> claims) {
        return sign(key, url(), user, claims, Instant.now().minus(Duration.ofMinutes(10)));
    }

    /** Signed by a key the issuer does not publish (with the same key id). */
    String forged(String user, Map<String, Object> claims) {
        return sign(stranger, url(), user, claims, Instant.now().plus(Duration.ofMinutes(5)));
    }

    /** Signed by this issuer's key, but naming another issuer. */
    String otherIssuer(String user, Map<String, Object> claims) {
        return sign(key, "http://issuer.example", user, claims, Instant.now().plus(Duration.ofMinutes(5)));
    }

    private static String sign(RSAKey key, String issuer, String user, Map<String, Object> claims, Instant expires) {
        JWTClaimsSet.Builder set = new JWTClaimsSet.Builder().issuer(issuer).subject("id-" + user).issueTime(Date.from(expires.minus(Duration.ofMinutes(15))))
                .expirationTime(Date.from(expires));
        if (user != null) {
            set.claim("preferred_username", user);
        }
        claims.forEach(set::claim);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), set.build());
        try {
            jwt.sign(new RSASSASigner(key));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        return jwt.serialize();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
