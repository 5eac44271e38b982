package dev.kiln.publish;

/**
 * Where images go, as configured: {@code local} (Kiln's OCI layout), {@code ecr[/NAMESPACE]} or an OCI
 * registry {@code HOST[:PORT][/NAMESPACE]}. Parsed once from the {@code --target} string; the adapter
 * for it is an {@link ImageTarget}.
 */
public sealed interface Target permits Target.Local, Target.Registry, Target.Ecr {

    /** The namespace repositories go under ("" for none). */
    String namespace();

    /** Kiln's local OCI image layout under the data directory. */
    record Local() implements Target {
        @Override
        public String namespace() {
            return "";
        }

        @Override
        public String toString() {
            return "local";
        }
    }

    /** An OCI registry at {@code host} ({@code HOST[:PORT]}). */
    record Registry(String host, String namespace) implements Target {
        /** Plain HTTP is allowed for loopback registries without asking. */
        public boolean loopback() {
            String name = host.replaceFirst(":[0-9]+$", "");
            return name.equals("localhost") || name.startsWith("127.") || name.equals("[::1]");
        }

        @Override
        public String toString() {
            return host + (namespace.isEmpty() ? "" : "/" + namespace);
        }
    }

    /** Amazon ECR of the account and region the AWS SDK's chains give (the registry host comes from ECR). */
    record Ecr(String namespace) implements Target {
        @Override
        public String toString() {
            return "ecr" + (namespace.isEmpty() ? "" : "/" + namespace);
        }
    }

    Target LOCAL = new Local();

    static Target parse(String text) {
        if (text == null || text.isBlank() || text.equals("local")) {
            return LOCAL;
        }
        if (text.equals("ecr") || text.startsWith("ecr/")) {
            return new Ecr(namespace(text, text.equals("ecr") ? "" : text.substring(4)));
        }
        String value = text.replaceFirst("^(docker|oci)://", "");
        int slash = value.indexOf('/');
        String host = slash < 0 ? value : value.substring(0, slash);
        if (!host.matches("[A-Za-z0-9.-]+(:[0-9]+)?|\\[[0-9a-fA-F:]+](:[0-9]+)?")) {
            throw new IllegalArgumentException("target '" + text + "': expected 'local', 'ecr[/NAMESPACE]' or HOST[:PORT][/NAMESPACE]");
        }
        return new Registry(host, namespace(text, slash < 0 ? "" : value.substring(slash + 1)));
    }

    private static String namespace(String text, String value) {
        String namespace = value.replaceAll("/+$", "");
        if (!namespace.isEmpty() && !namespace.matches("[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")) {
            throw new IllegalArgumentException("target '" + text + "': namespace '" + namespace
                    + "' is not a repository path (lower-case letters, digits, '.', '_', '-' and '/')");
        }
        return namespace;
    }

    /**
     * What {@code docker pull} takes for an image a build recorded: {@code HOST/REPOSITORY@DIGEST} from
     * the recorded target ({@code local}, {@code HOST[:PORT][/NAMESPACE]}, {@code ecr:HOST[/NAMESPACE]});
     * empty for the local layout, which nothing pulls from.
     */
    static java.util.Optional<String> pullReference(String recordedTarget, String repository, String digest) {
        if (recordedTarget == null || recordedTarget.equals("local") || repository == null || digest == null) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(recordedTarget.replaceFirst("^ecr:", "").replaceFirst("/.*", "") + "/" + repository + "@" + digest);
    }

    /** The repository a stack's images go to under {@code namespace}. */
    static String repository(String namespace, String stackRepository) {
        return namespace.isEmpty() ? stackRepository : namespace + "/" + stackRepository;
    }
}
