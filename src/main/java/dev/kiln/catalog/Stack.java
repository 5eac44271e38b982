package dev.kiln.catalog;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A validated stack definition with every default applied. Built only by {@link Catalog}; a stack that
 * has any problem never becomes one of these.
 */
public record Stack(
        String name,
        String description,
        String owner,
        String version,
        Source source,
        List<String> packages,
        List<String> excludes,
        // left out of the digest while empty, so stacks that do not use it keep their digests
        @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> excludeLibraries,
        User user,
        Hardening hardening,
        Map<String, String> env,
        List<String> entrypoint,
        List<String> cmd,
        String workdir,
        Map<String, String> labels,
        Schedule schedule,
        Target target,
        String tag,
        Retention retention) {

    public Stack {
        packages = List.copyOf(packages);
        excludes = List.copyOf(excludes);
        // left out of the canonical JSON when empty (NON_EMPTY keeps older digests): absent reads as none
        excludeLibraries = excludeLibraries == null ? List.of() : List.copyOf(excludeLibraries);
        env = Map.copyOf(env);
        entrypoint = List.copyOf(entrypoint);
        cmd = List.copyOf(cmd);
        labels = Map.copyOf(labels);
    }

    /** A stack that excludes no shared library knowingly. */
    public Stack(String name, String description, String owner, String version, Source source, List<String> packages,
                 List<String> excludes, User user, Hardening hardening, Map<String, String> env, List<String> entrypoint,
                 List<String> cmd, String workdir, Map<String, String> labels, Schedule schedule, Target target, String tag,
                 Retention retention) {
        this(name, description, owner, version, source, packages, excludes, List.of(), user, hardening, env, entrypoint, cmd,
                workdir, labels, schedule, target, tag, retention);
    }

    /** Everything the resolver never selects: {@code excludes} and the shared libraries excluded knowingly. */
    public java.util.Set<String> allExcludes() {
        java.util.Set<String> all = new java.util.HashSet<>(excludes);
        all.addAll(excludeLibraries);
        return all;
    }

    /**
     * This stack as built for one of its architectures: {@code source.architectures} is that one alone,
     * and {@code {architecture}} and {@code {multiarch}} in {@code env} values, {@code hardening.dropPaths},
     * {@code entrypoint}, {@code cmd} and {@code workdir} are filled in for it. The catalog's own stack
     * (and its digest) keeps the placeholders.
     */
    public Stack forArchitecture(String architecture) {
        if (!source.architectures().contains(architecture)) {
            throw new IllegalArgumentException(name + " is not built for " + architecture + " (only " + source.architectures() + ")");
        }
        Architecture a = Architecture.named(architecture);
        Map<String, String> expandedEnv = new LinkedHashMap<>();
        new java.util.TreeMap<>(env).forEach((k, v) -> expandedEnv.put(k, a.expand(v)));
        return new Stack(name, description, owner, version, new Source(List.of(architecture), source.keyring(), source.archives()),
                packages, excludes, excludeLibraries, user,
                new Hardening(hardening.stripSetuid(), hardening.removeShells(), hardening.removePackageManagers(),
                        hardening.dropPaths().stream().map(a::expand).toList()),
                expandedEnv, entrypoint.stream().map(a::expand).toList(), cmd.stream().map(a::expand).toList(), a.expand(workdir), labels,
                schedule, target, tag, retention);
    }

    /** The architecture of a stack built for one ({@link #forArchitecture}, or a single-architecture stack). */
    public String architecture() {
        if (source.multiArchitecture()) {
            throw new IllegalStateException(name + " is built for " + source.architectures() + "; take one with forArchitecture");
        }
        return source.architectures().get(0);
    }

    /**
     * The distro the packages come from; {@code keyring} is relative to the catalog directory. A stack
     * built for several architectures publishes one image index with a platform image per architecture,
     * in this order.
     */
    @JsonPropertyOrder({"architecture", "architectures", "keyring", "archives"})
    public record Source(@JsonIgnore List<String> architectures, String keyring, List<Archive> archives) {
        public Source {
            architectures = List.copyOf(architectures);
            archives = List.copyOf(archives);
        }

        /**
         * The source as its canonical JSON spells it (a recorded definition read back): {@code architecture}
         * for one, {@code architectures} for several. Read by hand: the component is hidden from Jackson,
         * which writes it through the two accessors below.
         */
        @com.fasterxml.jackson.annotation.JsonCreator(mode = com.fasterxml.jackson.annotation.JsonCreator.Mode.DELEGATING)
        static Source read(tools.jackson.databind.JsonNode json) {
            List<String> architectures = json.has("architectures")
                    ? json.path("architectures").valueStream().map(tools.jackson.databind.JsonNode::asString).toList()
                    : List.of(json.path("architecture").asString());
            List<Archive> archives = json.path("archives").valueStream().map(a -> new Archive(a.path("url").asString(),
                    a.path("suites").valueStream().map(tools.jackson.databind.JsonNode::asString).toList(),
                    a.path("components").valueStream().map(tools.jackson.databind.JsonNode::asString).toList())).toList();
            return new Source(architectures, json.path("keyring").asString(), archives);
        }

        /** Whether the stack is built for more than one architecture (and so published as an image index). */
        public boolean multiArchitecture() {
            return architectures.size() > 1;
        }

        /**
         * The stack's digest names a single architecture as {@code architecture}, as it always has (so
         * the locks of single-architecture stacks stay current), and several as {@code architectures}.
         */
        @JsonProperty("architecture")
        @JsonInclude(JsonInclude.Include.NON_NULL)
        String singleArchitecture() {
            return architectures.size() == 1 ? architectures.get(0) : null;
        }

        @JsonProperty("architectures")
        @JsonInclude(JsonInclude.Include.NON_NULL)
        List<String> severalArchitectures() {
            return architectures.size() > 1 ? architectures : null;
        }
    }

    public record Archive(String url, List<String> suites, List<String> components) {
        public Archive {
            suites = List.copyOf(suites);
            components = List.copyOf(components);
        }
    }

    public record User(String name, int uid, int gid) {
    }

    public record Hardening(boolean stripSetuid, boolean removeShells, boolean removePackageManagers, List<String> dropPaths) {
        public Hardening {
            dropPaths = List.copyOf(dropPaths);
        }
    }

    /** A Quartz cron expression (seconds first) evaluated in {@code timeZone}. */
    public record Schedule(String cron, String timeZone) {

        /** The zone the scheduler runs the cron in: the one rule the parser also validates with. */
        public java.util.TimeZone zone() {
            return zoneOf(timeZone);
        }

        /**
         * A time zone by the java.time rules ({@code Europe/Paris}, {@code UTC}, {@code UTC+5},
         * {@code +05:30}), as a TimeZone that keeps its offset. Not {@code TimeZone.getTimeZone(String)}:
         * it turns any ID it does not know, {@code UTC+5} among them, into GMT without a word.
         *
         * @throws java.time.DateTimeException when java.time does not know the zone
         */
        public static java.util.TimeZone zoneOf(String id) {
            // normalized(): a fixed offset such as UTC+05:00 becomes +05:00, which TimeZone understands
            return java.util.TimeZone.getTimeZone(java.time.ZoneId.of(id).normalized());
        }
    }

    public record Target(String repository) {
    }

    public record Retention(int keepLast, int keepDays, int keepPulledDays) {
    }
}
