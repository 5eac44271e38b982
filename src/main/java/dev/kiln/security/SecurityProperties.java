package dev.kiln.security;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Sign-in settings ({@code kiln.security}). JWT issuers themselves are Spring's
 * {@code spring.security.oauth2.resourceserver.jwt.issuer-uri} or {@code .jwk-set-uri}.
 *
 * @param jwt   how a bearer token's claims become a Kiln user and roles
 * @param login how failed sign-ins are throttled
 */
@ConfigurationProperties("kiln.security")
public record SecurityProperties(Jwt jwt, Login login) {

    public SecurityProperties {
        jwt = jwt == null ? new Jwt(null, null, null) : jwt;
        login = login == null ? new Login(null, null, null, null, null) : login;
    }

    /**
     * @param rolesClaim the claim with the roles: a list or a space- or comma-separated string; a dotted
     *                   path such as {@code realm_access.roles} reaches into an object (a claim named with
     *                   the dots literally is taken first)
     * @param rolePrefix a prefix the identity provider's role names carry ({@code kiln-} for
     *                   {@code kiln-platform}); values without it are ignored
     * @param nameClaim  the claim that names the user in the history and the audit trail
     */
    public record Jwt(String rolesClaim, String rolePrefix, String nameClaim) {
        public Jwt {
            rolesClaim = rolesClaim == null || rolesClaim.isBlank() ? "roles" : rolesClaim;
            rolePrefix = rolePrefix == null ? "" : rolePrefix;
            nameClaim = nameClaim == null || nameClaim.isBlank() ? "sub" : nameClaim;
        }
    }

    /**
     * Back-off for failed sign-ins, per user name and per client address: after the free failures each
     * further one doubles the wait, from {@code firstDelay} up to {@code maxDelay}; a key with no failure
     * for {@code forgetAfter} starts again.
     */
    public record Login(Integer freeFailuresPerUser, Integer freeFailuresPerAddress, Duration firstDelay, Duration maxDelay,
                        Duration forgetAfter) {
        public Login {
            freeFailuresPerUser = freeFailuresPerUser == null ? 5 : freeFailuresPerUser;
            freeFailuresPerAddress = freeFailuresPerAddress == null ? 20 : freeFailuresPerAddress;
            firstDelay = firstDelay == null ? Duration.ofSeconds(1) : firstDelay;
            maxDelay = maxDelay == null ? Duration.ofMinutes(15) : maxDelay;
            forgetAfter = forgetAfter == null ? Duration.ofMinutes(15) : forgetAfter;
            if (freeFailuresPerUser < 0 || freeFailuresPerAddress < 0 || firstDelay.isNegative() || maxDelay.compareTo(firstDelay) < 0) {
                throw new IllegalArgumentException("kiln.security.login: free failures must be >= 0 and max-delay >= first-delay");
            }
        }
    }
}
