package dev.kiln.cli;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;

/**
 * The container health check of Kiln's service image, which has no shell and no curl:
 * {@code java -cp /app/classes dev.kiln.cli.HealthProbe [URL]} exits 0 when the URL (by default the
 * readiness group on port 8080) answers 200, 1 otherwise. JDK classes only, so it starts in a fraction
 * of a second and loads nothing of the application.
 */
public final class HealthProbe {

    private HealthProbe() {
    }

    public static void main(String[] args) {
        String url = args.length > 0 ? args[0] : "http://127.0.0.1:8080/actuator/health/readiness";
        try {
            HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
            connection.setConnectTimeout(3000);
            connection.setReadTimeout(3000);
            int status = connection.getResponseCode();
            System.out.println(url + ": HTTP " + status);
            System.exit(status == 200 ? 0 : 1);
        } catch (IOException | IllegalArgumentException e) {
            System.out.println(url + ": " + e);
            System.exit(1);
        }
    }
}
