package dev.kiln.security;

import dev.kiln.KilnProperties;
import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.access.hierarchicalroles.RoleHierarchy;
import org.springframework.security.authentication.AuthenticationManager;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.authentication.dao.DaoAuthenticationProvider;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * What every front end's security chain shares: the users and their roles, the role hierarchy, the
 * throttled password sign-in and the bearer-token mapping. The API's chain (stateless: a token, or HTTP
 * Basic from the same origin) is in {@code api}; a console adds its own chain (a session, a login form,
 * CSRF tokens) over these same beans.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfiguration {

    @Bean
    PasswordEncoder passwordEncoder() {
        return PasswordEncoderFactories.createDelegatingPasswordEncoder();
    }

    @Bean
    UserDetailsService users(KilnProperties properties, PasswordEncoder encoder) {
        return KilnUsers.of(properties, encoder);
    }

    @Bean
    static RoleHierarchy roleHierarchy() {
        return Role.hierarchy();
    }

    @Bean
    LoginThrottle loginThrottle(SecurityProperties properties) {
        return new LoginThrottle(properties.login(), Clock.systemUTC());
    }

    /** Password sign-in for every chain: the users above, behind the throttle. */
    @Bean
    AuthenticationManager authenticationManager(UserDetailsService users, PasswordEncoder encoder, LoginThrottle throttle) {
        DaoAuthenticationProvider passwords = new DaoAuthenticationProvider(users);
        passwords.setPasswordEncoder(encoder);
        return new ProviderManager(new ThrottledAuthentication(passwords, throttle));
    }

    @Bean
    JwtRoles jwtRoles(SecurityProperties properties) {
        return new JwtRoles(properties.jwt());
    }
}
