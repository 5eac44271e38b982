package dev.kiln.security;

import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.authentication.WebAuthenticationDetails;

/**
 * Password sign-in (HTTP Basic now, a login form later) through the throttle: a user or address under
 * back-off is refused before its password is even checked, and every failure is logged with the user
 * name and client address (never the password) and counted.
 */
final class ThrottledAuthentication implements AuthenticationProvider {

    private static final Logger log = LoggerFactory.getLogger(ThrottledAuthentication.class);

    private final AuthenticationProvider passwords;
    private final LoginThrottle throttle;

    ThrottledAuthentication(AuthenticationProvider passwords, LoginThrottle throttle) {
        this.passwords = passwords;
        this.throttle = throttle;
    }

    @Override
    public Authentication authenticate(Authentication attempt) throws AuthenticationException {
        String user = attempt.getName();
        String address = attempt.getDetails() instanceof WebAuthenticationDetails d && d.getRemoteAddress() != null
                ? d.getRemoteAddress() : "unknown";
        Optional<Duration> wait = throttle.blocked(user, address);
        if (wait.isPresent()) {
            log.warn("sign-in refused unchecked: user {} from {}: throttled for {} s more", UntrustedText.forLog(user, 100), address,
                    LoginThrottledException.seconds(wait.get()));
            throw new LoginThrottledException(wait.get());
        }
        try {
            Authentication result = passwords.authenticate(attempt);
            throttle.succeeded(user);
            return result;
        } catch (BadCredentialsException e) {
            LoginThrottle.Outcome o = throttle.failed(user, address);
            log.warn("sign-in failed: user {} from {}: bad credentials (failures: {} for the user, {} from the address{})",
                    UntrustedText.forLog(user, 100), address, o.userFailures(), o.addressFailures(),
                    o.delay().isZero() ? "" : "; next attempt in " + LoginThrottledException.seconds(o.delay()) + " s");
            throw e;
        }
    }

    @Override
    public boolean supports(Class<?> authentication) {
        return passwords.supports(authentication);
    }
}
