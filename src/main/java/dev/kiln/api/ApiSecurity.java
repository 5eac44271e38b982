package dev.kiln.api;

import dev.kiln.KilnProperties;
import dev.kiln.SecretFile;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;

/**
 * Who may do what: reading is open to any authenticated user, triggering needs the {@code platform}
 * role; health, the OpenAPI document and the public signing key are open. HTTP Basic, no sessions (no cookies, so no CSRF).
 * Users come from {@code kiln.users}; with none configured, one platform user {@code admin} is made with
 * a random password written to {@code DATA_DIR/api-password}.
 */
@Configuration(proxyBeanMethods = false)
class ApiSecurity {

    private static final Logger log = LoggerFactory.getLogger(ApiSecurity.class);
    static final String PLATFORM = "PLATFORM";

    @Bean
    SecurityFilterChain api(HttpSecurity http) throws Exception {
        http.authorizeHttpRequests(a -> a
                        .requestMatchers("/actuator/health", "/actuator/health/**", "/v3/api-docs", "/v3/api-docs/**").permitAll()
                        .requestMatchers(HttpMethod.GET, "/api/signing/key").permitAll()
                        .requestMatchers(HttpMethod.GET, "/api/**", "/actuator/**").authenticated()
                        .requestMatchers("/api/**").hasRole(PLATFORM)
                        .anyRequest().authenticated())
                .httpBasic(b -> b.authenticationEntryPoint((req, res, e) ->
                        Problems.write(res, HttpStatus.UNAUTHORIZED, "unauthenticated", "sign in with HTTP Basic: " + e.getMessage())))
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((req, res, ex) ->
                                Problems.write(res, HttpStatus.UNAUTHORIZED, "unauthenticated", "sign in with HTTP Basic"))
                        .accessDeniedHandler((req, res, ex) ->
                                Problems.write(res, HttpStatus.FORBIDDEN, "forbidden",
                                        req.getMethod() + " " + req.getRequestURI() + " needs the platform role")))
                .csrf(c -> c.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS));
        return http.build();
    }

    @Bean
    PasswordEncoder passwordEncoder() {
        return PasswordEncoderFactories.createDelegatingPasswordEncoder();
    }

    @Bean
    UserDetailsService users(KilnProperties properties, PasswordEncoder encoder) {
        List<UserDetails> users = properties.users().stream()
                .map(u -> User.withUsername(u.name()).password(u.password())
                        .roles(u.roles().stream().map(r -> r.toUpperCase(java.util.Locale.ROOT)).toArray(String[]::new)).build())
                .toList();
        if (!users.isEmpty()) {
            return new InMemoryUserDetailsManager(users);
        }
        Path file = properties.dataDir().resolve("api-password");
        String password = SecretFile.readOrCreate(file, 18);
        log.info("no kiln.users configured: API user 'admin' (platform role), password in {}", file.toAbsolutePath());
        return new InMemoryUserDetailsManager(User.withUsername("admin").password(encoder.encode(password)).roles(PLATFORM).build());
    }
}
