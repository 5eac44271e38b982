package dev.kiln.publish;

import java.util.Optional;

/**
 * Credentials Kiln obtains itself for a registry (ECR's GetAuthorizationToken), tried before the
 * Docker config and credential helpers.
 */
public interface RegistryLogin {

    RegistryLogin NONE = registry -> Optional.empty();

    /** User name and password for {@code registry} (HOST[:PORT]), if this login covers it. */
    Optional<Login> login(String registry);

    record Login(String username, String password) {
    }
}
