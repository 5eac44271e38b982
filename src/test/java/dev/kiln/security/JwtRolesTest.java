package dev.kiln.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.server.resource.InvalidBearerTokenException;

class JwtRolesTest {

    private static Jwt jwt(Map<String, Object> claims) {
        return new Jwt("t", Instant.now(), Instant.now().plusSeconds(60), Map.of("alg", "RS256"), claims);
    }

    @Test
    void rolesComeFromAListAStringOrANestedClaimWithThePrefixRemoved() {
        JwtRoles keycloak = new JwtRoles(new SecurityProperties.Jwt("realm_access.roles", "kiln-", null));
        assertThat(keycloak.roles(Map.of("realm_access", Map.of("roles", List.of("kiln-platform", "kiln-Compliance", "platform", "kiln-admin")))))
                .isEqualTo(Set.of(Role.PLATFORM, Role.COMPLIANCE));
        JwtRoles scopes = new JwtRoles(new SecurityProperties.Jwt("scope", null, null));
        assertThat(scopes.roles(Map.of("scope", "openid reader,platform"))).isEqualTo(Set.of(Role.READER, Role.PLATFORM));
        JwtRoles auth0 = new JwtRoles(new SecurityProperties.Jwt("https://kiln.example.com/roles", null, null));
        assertThat(auth0.roles(Map.of("https://kiln.example.com/roles", List.of("compliance")))).isEqualTo(Set.of(Role.COMPLIANCE));
        assertThat(keycloak.roles(Map.of("realm_access", "kiln-platform"))).as("not an object: no roles").isEmpty();
        assertThat(keycloak.roles(Map.of())).isEmpty();
    }

    @Test
    void theTokensUserIsNamedByTheConfiguredClaimAndMustBeUsable() {
        JwtRoles roles = new JwtRoles(new SecurityProperties.Jwt(null, null, "preferred_username"));
        var token = roles.convert(jwt(Map.of("sub", "id-1", "preferred_username", "carol", "roles", List.of("reader"))));
        assertThat(token.getName()).isEqualTo("carol");
        assertThat(token.getAuthorities()).extracting(GrantedAuthority::getAuthority).containsExactly("ROLE_READER");
        assertThatThrownBy(() -> roles.convert(jwt(Map.of("sub", "id-1")))).isInstanceOf(InvalidBearerTokenException.class)
                .hasMessage("the token has no 'preferred_username' claim to name its user");
        assertThatThrownBy(() -> roles.convert(jwt(Map.of("preferred_username", "carol\r\nINFO forged line"))))
                .hasMessage("the token's 'preferred_username' claim contains the control character U+000D at position 5");
    }
}
