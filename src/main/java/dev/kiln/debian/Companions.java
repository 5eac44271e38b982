package dev.kiln.debian;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Packages Kiln adds to a resolution because an image needs a part of them that no dependency brings
 * in. On a Debian system they are there anyway (they are Essential); an image made of dependencies
 * alone lacks them. Today one: glibc's {@code C.UTF-8} locale lives in {@code libc-bin}, which
 * {@code libc6} does not depend on, so without it {@code LANG=C.UTF-8} silently falls back to ASCII
 * (Java then cannot name a file {@code é}).
 *
 * <p>The resolver stays what apt would choose; this runs after it. A companion is added only when its
 * package is in the archive, not already selected (then the stack has all of it), and not excluded (a
 * stack that excludes it builds without it). The lock records why it is there and the only paths the
 * image keeps of it, and scanners still see it: its {@code status.d} entry lists the files kept.
 */
public final class Companions {

    /** {@code name} goes with {@code with}, for {@code reason}; the image keeps only {@code only} of it. */
    public record Companion(String with, String name, String reason, List<String> only) {
        public Companion {
            only = List.copyOf(only);
        }
    }

    static final List<Companion> ALL = List.of(new Companion("libc6", "libc-bin",
            "the C.UTF-8 locale for LANG=C.UTF-8 (nothing depends on libc-bin)",
            List.of("/usr/lib/locale/C.utf8")));

    /** A resolution with its companions, by package name. */
    public record Result(PackageResolver.Resolution resolution, Map<String, Companion> companions) {
        public Result {
            companions = Map.copyOf(companions);
        }
    }

    private Companions() {
    }

    /**
     * Adds the companions {@code first} calls for by resolving again with them requested: their own
     * dependencies are then chosen the way any package's are.
     */
    public static Result add(PackageResolver resolver, PackageIndex index, List<Relation> requests, Set<String> excludes,
                             PackageResolver.Resolution first) {
        return add(resolver, index, requests, excludes, Set.of(), first);
    }

    /** @param libraries the shared libraries among {@code excludes} the stack excludes knowingly */
    public static Result add(PackageResolver resolver, PackageIndex index, List<Relation> requests, Set<String> excludes,
                             Set<String> libraries, PackageResolver.Resolution first) {
        Set<String> selected = new java.util.HashSet<>();
        first.packages().forEach(p -> selected.add(p.name()));
        Map<String, Companion> wanted = new LinkedHashMap<>();
        for (Companion c : ALL) {
            if (selected.contains(c.with()) && !selected.contains(c.name()) && !excludes.contains(c.name())
                    && !index.versions(c.name()).isEmpty()) {
                wanted.put(c.name(), c);
            }
        }
        if (wanted.isEmpty()) {
            return new Result(first, Map.of());
        }
        List<Relation> all = new ArrayList<>(requests);
        wanted.keySet().forEach(name -> all.add(Relation.parse(name)));
        try {
            return new Result(resolver.resolve(index, all, excludes, libraries), wanted);
        } catch (ResolutionException e) {
            List<ResolutionException.Failure> failures = new ArrayList<>();
            for (ResolutionException.Failure f : e.failures()) {
                if (f.request() >= requests.size()) {
                    Companion c = wanted.get(all.get(f.request()).name());
                    failures.add(new ResolutionException.Failure(-1, c.name() + " (added with " + c.with() + " for " + c.reason()
                            + "): " + f.message() + "; exclude " + c.name() + " to build without it"));
                } else {
                    failures.add(f);
                }
            }
            throw new ResolutionException(failures);
        }
    }
}
