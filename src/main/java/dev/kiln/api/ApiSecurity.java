package dev.kiln.api;

import dev.kiln.security.JwtRoles;
import dev.kiln.security.LoginThrottledException;
import dev.kiln.security.Role;
import dev.kiln.security.UntrustedText;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.AuthenticationManager;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationProvider;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.www.BasicAuthenticationFilter;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import tools.jackson.databind.JacksonModule;

/**
 * The API's security chain: stateless (no session, no cookie), signed in with a bearer token from the
 * organisation's identity provider or with HTTP Basic, and a state-changing request only with a token
 * or from Kiln's own origin ({@link SameOrigin}). Readers read, {@code platform} triggers, pins and
 * retires, {@code compliance} exports evidence; health, the OpenAPI document and the public signing key
 * ({@code GET /api/signing/key}, for policy engines) are open (health's
 * details only to a signed-in user). Every refusal is a problem: 401, 403, 429 with Retry-After, and a
 * URL the firewall rejects ({@code ;}, {@code //}, {@code ../}, encoded slashes) a 400.
 *
 * <p>This chain answers every path; a console adds its own chain ahead of it for its pages (session,
 * login form, CSRF tokens) over the users, roles and throttle of {@code dev.kiln.security}.
 */
@Configuration(proxyBeanMethods = false)
class ApiSecurity {

    private static final Logger log = LoggerFactory.getLogger(ApiSecurity.class);

    @Bean
    SecurityFilterChain api(HttpSecurity http, AuthenticationManager passwords, ObjectProvider<JwtDecoder> jwt, JwtRoles jwtRoles,
                            ApiProperties properties) throws Exception {
        JwtDecoder decoder = jwt.getIfAvailable();
        boolean tokens = decoder != null;
        http.authorizeHttpRequests(a -> a
                        .dispatcherTypeMatchers(DispatcherType.ERROR).permitAll()
                        .requestMatchers("/actuator/health", "/actuator/health/**", "/v3/api-docs", "/v3/api-docs/**", "/error").permitAll()
                        .requestMatchers(HttpMethod.GET, "/api/signing/key").permitAll()
                        .requestMatchers(HttpMethod.GET, "/api/evidence/**").hasRole(Role.COMPLIANCE.name())
                        .requestMatchers(HttpMethod.GET, "/api/**", "/actuator/**").hasRole(Role.READER.name())
                        .requestMatchers(HttpMethod.HEAD, "/api/**", "/actuator/**").hasRole(Role.READER.name())
                        .requestMatchers("/api/**").hasRole(Role.PLATFORM.name())
                        .anyRequest().authenticated())
                .authenticationManager(passwords)
                .httpBasic(b -> b.authenticationEntryPoint((req, res, e) -> unauthenticated(req, res, e, tokens)))
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((req, res, ex) -> unauthenticated(req, res, ex, tokens))
                        .accessDeniedHandler((req, res, ex) -> Problems.write(req, res, HttpStatus.FORBIDDEN, "forbidden",
                                req.getMethod() + " " + UntrustedText.forLog(req.getRequestURI(), 200) + " needs the "
                                        + needed(req).id() + " role", HttpHeaders.EMPTY)))
                .addFilterBefore(new SameOrigin(properties.publicOrigin()), BasicAuthenticationFilter.class)
                // SameOrigin stands in for CSRF tokens on this stateless chain
                .csrf(c -> c.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
        if (tokens) {
            // its own manager: the chain's manager is the password sign-in
            JwtAuthenticationProvider provider = new JwtAuthenticationProvider(decoder);
            provider.setJwtAuthenticationConverter(jwtRoles);
            http.oauth2ResourceServer(o -> o
                    .jwt(j -> j.authenticationManager(new ProviderManager(provider)))
                    .authenticationEntryPoint((req, res, e) -> unauthenticated(req, res, e, true)));
        }
        return http.build();
    }

    /** The role a request needs, as the rules above say (for the 403's sentence). */
    private static Role needed(HttpServletRequest request) {
        String path = request.getRequestURI();
        String method = request.getMethod();
        boolean read = method.equals("GET") || method.equals("HEAD");
        if (read && path.startsWith("/api/evidence/")) {
            return Role.COMPLIANCE;
        }
        return read || !path.startsWith("/api/") ? Role.READER : Role.PLATFORM;
    }

    private static void unauthenticated(HttpServletRequest request, HttpServletResponse response, AuthenticationException e,
                                        boolean tokens) throws IOException {
        HttpHeaders headers = new HttpHeaders();
        if (e instanceof LoginThrottledException throttled) {
            headers.add("Retry-After", Long.toString(LoginThrottledException.seconds(throttled.retryAfter())));
            Problems.write(request, response, HttpStatus.TOO_MANY_REQUESTS, "login-throttled", throttled.getMessage(), headers);
            return;
        }
        String header = request.getHeader("Authorization");
        boolean bearer = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7);
        String detail;
        if (bearer) {
            // the reason (expired, bad signature, wrong issuer) is for the log: a client learns only that the token was refused
            log.warn("bearer token refused from {}: {}", request.getRemoteAddr(), UntrustedText.forLog(e.getMessage(), 300));
            detail = "the bearer token was refused (expired, not signed by the configured issuer, or not for Kiln)";
            headers.add("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        } else {
            detail = header == null ? "sign in: HTTP Basic" + (tokens ? " or a bearer token" : "") : "the user name or password is wrong";
            headers.add("WWW-Authenticate", "Basic realm=\"kiln\", charset=\"UTF-8\"");
            if (tokens) {
                headers.add("WWW-Authenticate", "Bearer");
            }
        }
        Problems.write(request, response, HttpStatus.UNAUTHORIZED, "unauthenticated", detail, headers);
    }

    /** URLs Spring Security's firewall refuses: a 400 problem here, not the 401 an error page behind the chain would give. */
    @Bean
    RequestRejectedHandler requestRejected() {
        return (request, response, e) -> Problems.write(request, response, HttpStatus.BAD_REQUEST, "bad-url",
                "the URL is not in normal form or holds a character Kiln refuses (such as ';', '//', '../', an encoded slash "
                        + "or a control character)", HttpHeaders.EMPTY);
    }

    /** Ahead of everything, sign-in included: no request body over the limit is read. */
    @Bean
    FilterRegistrationBean<RequestLimits> requestLimits(ApiProperties properties) {
        FilterRegistrationBean<RequestLimits> registration = new FilterRegistrationBean<>(new RequestLimits(properties.maxBodyBytes()));
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
        return registration;
    }

    @Bean
    JacksonModule untrustedText() {
        return new TextModule();
    }

    @Bean
    TomcatProblems tomcatProblems() {
        return new TomcatProblems();
    }
}
