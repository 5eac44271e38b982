package dev.kiln.catalog;

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
        env = Map.copyOf(env);
        entrypoint = List.copyOf(entrypoint);
        cmd = List.copyOf(cmd);
        labels = Map.copyOf(labels);
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
    }

    public record Target(String repository) {
    }

    public record Retention(int keepLast, int keepDays, int keepPulledDays) {
    }
}
