package dev.kiln.catalog;

import com.fasterxml.jackson.annotation.JsonInclude;
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

    /** The distro the packages come from; {@code keyring} is relative to the catalog directory. */
    public record Source(String architecture, String keyring, List<Archive> archives) {
        public Source {
            archives = List.copyOf(archives);
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
