package dev.kiln.console;

import dev.kiln.security.LoginThrottledException;
import dev.kiln.security.Role;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.security.authentication.AuthenticationManager;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.header.writers.ReferrerPolicyHeaderWriter;

/**
 * The console's security chain, ahead of the API's stateless one and only for the console's paths: a
 * session, a login form, CSRF tokens on every form, the same users, roles and sign-in throttle as the
 * API ({@code dev.kiln.security}). Pages need the reader role, pins, unpins, retirements and triggers
 * the platform role, the evidence export the compliance role. The pages load nothing from elsewhere:
 * the Content-Security-Policy allows this origin only, and no inline script.
 */
@Configuration(proxyBeanMethods = false)
class ConsoleSecurity {

    static final String LOGIN = "/console/login";

    @Bean
    @Order(1)
    SecurityFilterChain console(HttpSecurity http, AuthenticationManager passwords) throws Exception {
        http.securityMatcher("/", "/console", "/console/**")
                .authorizeHttpRequests(a -> a
                        .requestMatchers(LOGIN, "/console/static/**").permitAll()
                        // where a refusal is forwarded, whatever the method: never refused itself (that would loop)
                        .requestMatchers("/console/denied").authenticated()
                        .requestMatchers(HttpMethod.GET, "/console/export", "/console/export/**").hasRole(Role.COMPLIANCE.name())
                        .requestMatchers(HttpMethod.POST, "/console/logout").authenticated()
                        .requestMatchers(HttpMethod.POST, "/console/**").hasRole(Role.PLATFORM.name())
                        .anyRequest().hasRole(Role.READER.name()))
                .authenticationManager(passwords)
                .formLogin(f -> f.loginPage(LOGIN).loginProcessingUrl(LOGIN).defaultSuccessUrl("/console/", false)
                        .failureHandler((request, response, e) -> response.sendRedirect(LOGIN + (e instanceof LoginThrottledException t
                                ? "?throttled=" + LoginThrottledException.seconds(t.retryAfter()) : "?error"))))
                .logout(l -> l.logoutUrl("/console/logout").logoutSuccessUrl(LOGIN + "?signedOut"))
                .exceptionHandling(e -> e.accessDeniedPage("/console/denied"))
                .headers(h -> h
                        .contentSecurityPolicy(c -> c.policyDirectives("default-src 'self'; script-src 'self'; style-src 'self'; "
                                + "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"))
                        .referrerPolicy(r -> r.policy(ReferrerPolicyHeaderWriter.ReferrerPolicy.SAME_ORIGIN)))
                .requestCache(c -> c.requestCache(new org.springframework.security.web.savedrequest.HttpSessionRequestCache()));
        return http.build();
    }
}
