package dev.kiln.publish;

/**
 * Where images go: Kiln's local OCI store (the default), a registry, or Amazon ECR, optionally under a
 * namespace ({@code registry.example.com/platform}). Parsed from
 * {@code --target local | ecr[/NAMESPACE] | HOST[:PORT][/NAMESPACE]}. An ECR target's registry is
 * {@code ecr} until the account's registry host is known ({@link #withRegistry}).
 */
public record Target(String registry, String namespace, boolean ecr) {

    public static final Target LOCAL = new Target(null, "", false);

    public Target(String registry, String namespace) {
        this(registry, namespace, false);
    }

    public static Target parse(String text) {
        if (text == null || text.isBlank() || text.equals("local")) {
            return LOCAL;
        }
        if (text.equals("ecr") || text.startsWith("ecr/")) {
            return new Target("ecr", text.equals("ecr") ? "" : text.substring(4).replaceAll("/+$", ""), true);
        }
        String value = text.replaceFirst("^(docker|oci)://", "");
        int slash = value.indexOf('/');
        String registry = slash < 0 ? value : value.substring(0, slash);
        String namespace = slash < 0 ? "" : value.substring(slash + 1).replaceAll("/+$", "");
        if (!registry.matches("[A-Za-z0-9.-]+(:[0-9]+)?|\\[[0-9a-fA-F:]+](:[0-9]+)?")) {
            throw new IllegalArgumentException("target '" + text + "': expected 'local', 'ecr[/NAMESPACE]' or HOST[:PORT][/NAMESPACE]");
        }
        return new Target(registry, namespace);
    }

    /** The same target at a known registry host (ECR's, once GetAuthorizationToken has named it). */
    public Target withRegistry(String host) {
        return new Target(host, namespace, ecr);
    }

    public boolean local() {
        return registry == null;
    }

    /** The repository a stack's images go to under this target. */
    public String repository(String stackRepository) {
        return namespace.isEmpty() ? stackRepository : namespace + "/" + stackRepository;
    }

    /** Plain HTTP is allowed for loopback registries only, unless configured otherwise. */
    boolean loopback() {
        String host = registry.replaceFirst(":[0-9]+$", "");
        return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
    }

    @Override
    public String toString() {
        return local() ? "local" : (ecr && !registry.equals("ecr") ? "ecr:" : "") + registry + (namespace.isEmpty() ? "" : "/" + namespace);
    }
}
