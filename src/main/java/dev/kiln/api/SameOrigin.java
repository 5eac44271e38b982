package dev.kiln.api;

import dev.kiln.security.UntrustedText;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Locale;
import java.util.Set;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The API's defence against cross-site requests. A browser sends cached HTTP Basic credentials along
 * with a form another site posts, so a state-changing request is accepted only with a bearer token
 * (which no browser attaches by itself) or from Kiln's own origin: its {@code Sec-Fetch-Site} must be
 * {@code same-origin} or {@code none} and its {@code Origin} Kiln's own, when the browser sends them.
 * Clients that are not browsers send neither and are not affected. (A console with sessions uses CSRF
 * tokens in its own chain instead.)
 */
final class SameOrigin extends OncePerRequestFilter {

    private static final Set<String> SAFE = Set.of("GET", "HEAD", "OPTIONS", "TRACE");

    private final String publicOrigin;

    SameOrigin(String publicOrigin) {
        this.publicOrigin = publicOrigin;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String refusal = SAFE.contains(request.getMethod()) || bearer(request) ? null : refusal(request);
        if (refusal != null) {
            Problems.write(request, response, HttpStatus.FORBIDDEN, "cross-site-request", refusal
                    + "; call the API with a bearer token, or from Kiln's own origin", HttpHeaders.EMPTY);
            return;
        }
        chain.doFilter(request, response);
    }

    private String refusal(HttpServletRequest request) {
        String site = request.getHeader("Sec-Fetch-Site");
        if (site != null && !site.equals("same-origin") && !site.equals("none")) {
            return "a " + request.getMethod() + " from another site (Sec-Fetch-Site: " + UntrustedText.forLog(site, 40) + ") is refused";
        }
        String origin = request.getHeader("Origin");
        if (origin != null && !origin.equalsIgnoreCase(own(request)) && !origin.equalsIgnoreCase(publicOrigin)) {
            return "a " + request.getMethod() + " from the origin " + UntrustedText.forLog(origin, 200) + " is refused";
        }
        return null;
    }

    private static boolean bearer(HttpServletRequest request) {
        String authorization = request.getHeader("Authorization");
        return authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7);
    }

    /** This request's own origin; a browser cannot forge the Host it sends to. */
    private static String own(HttpServletRequest request) {
        String scheme = request.getScheme().toLowerCase(Locale.ROOT);
        int port = request.getServerPort();
        boolean defaultPort = scheme.equals("http") && port == 80 || scheme.equals("https") && port == 443;
        return scheme + "://" + request.getServerName() + (defaultPort ? "" : ":" + port);
    }
}
