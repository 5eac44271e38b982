package dev.kiln.api;

import dev.kiln.security.JwtRoles;
import java.security.Principal;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;

/** Who did something through the API, as the history and the audit trail record it. */
final class Actors {

    private Actors() {
    }

    /** {@code api:NAME} for Kiln's own users, {@code api:jwt:NAME} for a bearer token's user. */
    static String of(Principal principal) {
        return "api:" + (principal instanceof JwtAuthenticationToken ? JwtRoles.ACTOR_PREFIX : "") + principal.getName();
    }
}
