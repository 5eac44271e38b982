package dev.kiln.security;

import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.springframework.core.convert.converter.Converter;
import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.server.resource.InvalidBearerTokenException;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;

/**
 * A verified bearer token as a Kiln user: its name from the configured claim, its roles from the roles
 * claim (values that are not Kiln roles, after the prefix, are ignored). A token without a usable name
 * is refused: the name goes into the history and the audit trail.
 */
public final class JwtRoles implements Converter<Jwt, AbstractAuthenticationToken> {

    /** A JWT user in the history and the audit trail, told apart from Kiln's own users. */
    public static final String ACTOR_PREFIX = "jwt:";

    private final SecurityProperties.Jwt settings;

    public JwtRoles(SecurityProperties.Jwt settings) {
        this.settings = settings;
    }

    @Override
    public AbstractAuthenticationToken convert(Jwt jwt) {
        Object claim = jwt.getClaims().get(settings.nameClaim());
        String name = claim instanceof String s ? s : null;
        if (name == null || name.isBlank()) {
            throw new InvalidBearerTokenException("the token has no '" + settings.nameClaim() + "' claim to name its user");
        }
        UntrustedText.refusal(name, 200).ifPresent(why -> {
            throw new InvalidBearerTokenException("the token's '" + settings.nameClaim() + "' claim " + why);
        });
        List<SimpleGrantedAuthority> authorities = roles(jwt.getClaims()).stream().map(r -> new SimpleGrantedAuthority(r.authority())).toList();
        return new JwtAuthenticationToken(jwt, authorities, name);
    }

    /** The Kiln roles the claims grant. */
    Set<Role> roles(Map<String, Object> claims) {
        Set<Role> roles = new LinkedHashSet<>();
        for (Object value : values(claim(claims, settings.rolesClaim()).orElse(null))) {
            if (value instanceof String s && s.startsWith(settings.rolePrefix())) {
                Role.of(s.substring(settings.rolePrefix().length())).ifPresent(roles::add);
            }
        }
        return roles;
    }

    private static Optional<Object> claim(Map<String, Object> claims, String path) {
        if (claims.containsKey(path)) {
            return Optional.ofNullable(claims.get(path));
        }
        Object current = claims;
        for (String part : path.split("\\.")) {
            if (!(current instanceof Map<?, ?> map) || !map.containsKey(part)) {
                return Optional.empty();
            }
            current = map.get(part);
        }
        return Optional.ofNullable(current);
    }

    private static Collection<?> values(Object claim) {
        if (claim instanceof Collection<?> c) {
            return c;
        }
        if (claim instanceof String s) {
            return Arrays.stream(s.split("[\\s,]+")).filter(v -> !v.isEmpty()).toList();
        }
        return List.of();
    }
}
