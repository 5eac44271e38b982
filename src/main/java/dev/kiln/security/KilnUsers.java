package dev.kiln.security;

import dev.kiln.KilnProperties;
import dev.kiln.SecretFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetails;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;

/**
 * The users from {@code kiln.users}: a user with no roles listed is a reader; an unknown role stops the
 * start. With none configured, one user {@code admin} with every role and a random password kept in
 * {@code DATA_DIR/api-password}.
 */
final class KilnUsers {

    private static final Logger log = LoggerFactory.getLogger(KilnUsers.class);

    private KilnUsers() {
    }

    static InMemoryUserDetailsManager of(KilnProperties properties, PasswordEncoder encoder) {
        List<UserDetails> users = new ArrayList<>();
        for (int i = 0; i < properties.users().size(); i++) {
            KilnProperties.User u = properties.users().get(i);
            if (u.name() == null || u.name().isBlank() || u.password() == null || u.password().isBlank()) {
                throw new IllegalArgumentException("kiln.users[" + i + "]: a user needs a name and a password");
            }
            List<String> roles = new ArrayList<>();
            for (String r : u.roles().isEmpty() ? List.of(Role.READER.id()) : u.roles()) {
                roles.add(Role.of(r).orElseThrow(() -> new IllegalArgumentException("kiln.users[" + u.name() + "].roles: unknown role '" + r
                        + "' (roles: " + String.join(", ", Role.ids()) + ")")).name());
            }
            users.add(User.withUsername(u.name()).password(u.password()).roles(roles.toArray(String[]::new)).build());
        }
        if (!users.isEmpty()) {
            return new InMemoryUserDetailsManager(users);
        }
        Path file = properties.dataDir().resolve("api-password");
        String password = SecretFile.readOrCreate(file, 18);
        log.info("no kiln.users configured: API user 'admin' (every role), password in {}", file.toAbsolutePath());
        return new InMemoryUserDetailsManager(User.withUsername("admin").password(encoder.encode(password))
                .roles(Role.PLATFORM.name(), Role.COMPLIANCE.name()).build());
    }
}
