package dev.kiln.api;

import java.net.URI;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The API's own settings ({@code kiln.api}).
 *
 * @param publicUrl    the URL clients reach Kiln at ({@code https://kiln.example.com}): the OpenAPI
 *                     document's server, and an origin state-changing requests may come from. Unset, the
 *                     document names the server relatively ({@code /}); it never echoes a Host header
 * @param maxBodyBytes the largest request body accepted
 */
@ConfigurationProperties("kiln.api")
record ApiProperties(URI publicUrl, Long maxBodyBytes) {

    ApiProperties {
        maxBodyBytes = maxBodyBytes == null ? 64 * 1024L : maxBodyBytes;
        if (publicUrl != null && (publicUrl.getScheme() == null || publicUrl.getHost() == null
                || !publicUrl.getScheme().matches("https?"))) {
            throw new IllegalArgumentException("kiln.api.public-url: '" + publicUrl + "' is not an http(s) URL");
        }
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("kiln.api.max-body-bytes must be positive");
        }
    }

    /** The public URL's origin ({@code scheme://host[:port]}), or null. */
    String publicOrigin() {
        return publicUrl == null ? null : publicUrl.getScheme() + "://" + publicUrl.getRawAuthority();
    }
}
