package dev.kiln.security;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.springframework.security.access.hierarchicalroles.RoleHierarchy;
import org.springframework.security.access.hierarchicalroles.RoleHierarchyImpl;

/**
 * Kiln's three roles. A reader sees stacks, builds, digests and the audit trail; {@code platform} also
 * triggers, pins and retires; {@code compliance} also exports evidence. Both include reader.
 */
public enum Role {
    READER, PLATFORM, COMPLIANCE;

    /** The role's name as users and identity providers write it: {@code reader}, {@code platform}, {@code compliance}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Spring Security's authority for it. */
    public String authority() {
        return "ROLE_" + name();
    }

    public static Optional<Role> of(String name) {
        return Arrays.stream(values()).filter(r -> r.id().equalsIgnoreCase(name.strip())).findFirst();
    }

    static List<String> ids() {
        return Arrays.stream(values()).map(Role::id).toList();
    }

    /** platform and compliance each include reader. */
    static RoleHierarchy hierarchy() {
        return RoleHierarchyImpl.withDefaultRolePrefix()
                .role(PLATFORM.name()).implies(READER.name())
                .role(COMPLIANCE.name()).implies(READER.name())
                .build();
    }
}
