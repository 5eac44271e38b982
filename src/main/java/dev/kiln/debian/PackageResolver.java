package dev.kiln.debian;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Computes the closure of a stack's packages over Pre-Depends and Depends, choosing what apt would
 * choose for {@code apt-get install --no-install-recommends} on an empty system: depth first, plain
 * dependencies before alternatives, each package at its candidate (newest) version, the first
 * installable alternative, and a real package before its providers. Essential packages are not added
 * on their own: only when something depends on them.
 *
 * <p>Excluded packages are never selected. A dependency that only excluded packages could satisfy is
 * dropped and reported in {@link Resolution#dropped()}: that is how a stack says "the runtime does not
 * need this" (distroless images leave out debconf, perl-base and the like the same way).
 */
public final class PackageResolver {

    /** Resolves every request; all failures are collected, one per request that cannot be met. */
    public Resolution resolve(PackageIndex index, List<Relation> requests, Set<String> excludes) {
        return resolve(index, requests, excludes, Set.of());
    }

    /**
     * @param libraries shared libraries among {@code excludes} that the stack excludes knowingly (its
     *                  {@code excludeLibraries}): dropped like any exclude instead of failing the lock
     */
    public Resolution resolve(PackageIndex index, List<Relation> requests, Set<String> excludes, Set<String> libraries) {
        Run run = new Run(index, excludes, libraries);
        List<ResolutionException.Failure> failures = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            Map<String, PackageRecord> before = new LinkedHashMap<>(run.selected);
            int droppedBefore = run.dropped.size();
            try {
                run.request(requests.get(i));
            } catch (Unsatisfiable e) {
                failures.add(new ResolutionException.Failure(i, e.getMessage()));
                run.restore(before, droppedBefore);
            }
        }
        if (failures.isEmpty()) {
            failures.addAll(run.conflicts());
        }
        if (!failures.isEmpty()) {
            throw new ResolutionException(failures);
        }
        List<PackageRecord> packages = new ArrayList<>(run.selected.values());
        packages.sort(Comparator.comparing(PackageRecord::name));
        return new Resolution(packages, run.wantedBy, List.copyOf(run.dropped));
    }

    /** The result: the selected packages sorted by name, and the dependencies dropped by excludes. */
    public record Resolution(List<PackageRecord> packages, Map<String, String> wantedBy, List<Dropped> dropped) {
        public Resolution {
            packages = List.copyOf(packages);
            wantedBy = Map.copyOf(wantedBy);
            dropped = List.copyOf(dropped);
        }
    }

    /** A dependency of {@code wantedBy} left out because every alternative is excluded. */
    public record Dropped(String wantedBy, String dependency) {
    }

    private static final class Unsatisfiable extends RuntimeException {
        Unsatisfiable(String message) {
            super(message, null, false, false);
        }
    }

    private static final class Run {
        private final PackageIndex index;
        private final Set<String> excludes;
        private final Set<String> libraries;
        private final Map<String, PackageRecord> selected = new LinkedHashMap<>();
        private final Map<String, List<PackageIndex.Provider>> provided = new HashMap<>();
        private final List<Dropped> dropped = new ArrayList<>();
        /** Which package first pulled each one in; absent for the stack's own requests. */
        private final Map<String, String> wantedBy = new HashMap<>();

        Run(PackageIndex index, Set<String> excludes, Set<String> libraries) {
            this.libraries = Set.copyOf(libraries);
            this.index = index;
            this.excludes = Set.copyOf(excludes);
        }

        void restore(Map<String, PackageRecord> before, int droppedBefore) {
            selected.clear();
            selected.putAll(before);
            provided.clear();
            selected.values().forEach(this::indexProvides);
            wantedBy.keySet().retainAll(selected.keySet());
            dropped.subList(droppedBefore, dropped.size()).clear();
        }

        void request(Relation request) {
            if (excludes.contains(request.name())) {
                throw new Unsatisfiable(request + ": the stack also excludes it");
            }
            if (satisfied(request)) {
                return;
            }
            List<PackageRecord> versions = index.versions(request.name());
            if (!versions.isEmpty()) {
                // an explicit request may pin an older version (apt-get install foo=1.2); otherwise the newest
                PackageRecord pick = versions.stream().filter(p -> request.acceptsVersion(p.version()))
                        .findFirst().orElseThrow(() -> new Unsatisfiable(request + ": " + noneIn(versions.get(0))));
                install(pick, List.of());
                return;
            }
            List<PackageIndex.Provider> providers = providersOf(request);
            if (providers.size() == 1) {
                install(providers.get(0).pkg(), List.of());
            } else if (providers.isEmpty()) {
                throw new Unsatisfiable("no package '" + request.name() + "' in " + String.join(", ", index.suites()));
            } else {
                StringJoiner names = new StringJoiner(", ");
                providers.forEach(p -> names.add(p.pkg().name()));
                throw new Unsatisfiable("'" + request.name() + "' is a virtual package provided by " + names
                        + ": name the one to install");
            }
        }

        private void install(PackageRecord pkg, List<String> chain) {
            selected.put(pkg.name(), pkg);
            if (!chain.isEmpty()) {
                wantedBy.put(pkg.name(), chain.get(chain.size() - 1));
            }
            indexProvides(pkg);
            List<String> path = new ArrayList<>(chain);
            path.add(pkg.name());
            List<List<Relation>> groups = pkg.requirements();
            // apt satisfies plain dependencies before choosing among alternatives, so a later plain
            // dependency can settle an earlier "a | b"
            for (List<Relation> group : groups) {
                if (group.size() == 1) {
                    satisfy(pkg, group, path);
                }
            }
            for (List<Relation> group : groups) {
                if (group.size() > 1) {
                    satisfy(pkg, group, path);
                }
            }
        }

        private void satisfy(PackageRecord pkg, List<Relation> group, List<String> path) {
            for (Relation alternative : group) {
                if (satisfied(alternative)) {
                    return;
                }
            }
            List<String> reasons = new ArrayList<>();
            boolean allExcluded = true;
            for (Relation alternative : group) {
                if (excludes.contains(alternative.name())) {
                    reasons.add(alternative.name() + ": excluded by the stack");
                    continue;
                }
                allExcluded = false;
                PackageRecord target = target(alternative, reasons);
                if (target != null) {
                    install(target, path);
                    return;
                }
            }
            String text = groupText(group);
            if (allExcluded) {
                neededLibrary(group, path);
                dropped.add(new Dropped(pkg.name(), text));
                return;
            }
            throw new Unsatisfiable(String.join(" → ", path) + " → "
                    + (group.size() == 1 ? reasons.get(0) : text + ": " + String.join("; ", reasons)));
        }

        /**
         * Refuses to drop a dependency on a shared library: excludes are for what a runtime does not
         * need (maintainer-script tools, interpreters), and a program whose library is left out cannot
         * start; the image checks would only find it at build time, without naming the exclude.
         */
        private void neededLibrary(List<Relation> group, List<String> path) {
            for (Relation alternative : group) {
                List<PackageRecord> versions = index.versions(alternative.name());
                if (!versions.isEmpty() && versions.get(0).sharedLibrary() && !libraries.contains(alternative.name())) {
                    PackageRecord lib = versions.get(0);
                    throw new Unsatisfiable(path.get(0) + " needs " + lib.name() + ", which the stack excludes (" + String.join(" → ", path)
                            + " → " + alternative + "; " + lib.name() + " is a shared library, " + (lib.section() != null
                            ? "section " + lib.section() : "Multi-Arch: same") + "): remove it from excludes (or, when dropPaths removes every file that needs it, move it to excludeLibraries)");
                }
            }
        }

        /** The package apt would install for one alternative, or null with the reason added. */
        private PackageRecord target(Relation alternative, List<String> reasons) {
            List<PackageRecord> versions = index.versions(alternative.name());
            if (!versions.isEmpty()) {
                PackageRecord candidate = versions.get(0);
                PackageRecord already = selected.get(alternative.name());
                if (already != null) {
                    reasons.add(alternative + ": " + already.name() + " " + already.version() + " is already selected");
                } else if (!alternative.acceptsVersion(candidate.version())) {
                    reasons.add(alternative + ": " + noneIn(candidate));
                } else if (!archAccepts(alternative, candidate)) {
                    reasons.add(alternative + ": " + candidate.name() + " is not Multi-Arch: allowed");
                } else {
                    return candidate;
                }
                // a real package that fails may still be provided by another (rare, but apt looks)
            }
            List<PackageIndex.Provider> providers = providersOf(alternative);
            if (!providers.isEmpty()) {
                return providers.get(0).pkg();
            }
            if (versions.isEmpty()) {
                reasons.add(alternative + ": none in " + String.join(", ", index.suites()));
            }
            return null;
        }

        /** Installable providers of a virtual name, in apt's order of preference. */
        private List<PackageIndex.Provider> providersOf(Relation relation) {
            List<PackageIndex.Provider> result = new ArrayList<>();
            for (PackageIndex.Provider p : index.providers(relation.name())) {
                boolean versionOk = relation.operator() == null
                        || (p.providedVersion() != null && relation.acceptsVersion(p.providedVersion()));
                PackageRecord already = selected.get(p.pkg().name());
                if (versionOk && !excludes.contains(p.pkg().name()) && (already == null || already == p.pkg())) {
                    result.add(p);
                }
            }
            result.sort(Comparator.comparing((PackageIndex.Provider p) -> !p.pkg().essential())
                    .thenComparing(p -> priorityRank(p.pkg().priority()))
                    .thenComparing(p -> p.pkg().name()));
            return result;
        }

        private boolean satisfied(Relation r) {
            PackageRecord pkg = selected.get(r.name());
            if (pkg != null && r.acceptsVersion(pkg.version()) && archAccepts(r, pkg)) {
                return true;
            }
            for (PackageIndex.Provider p : provided.getOrDefault(r.name(), List.of())) {
                if (r.operator() == null || (p.providedVersion() != null && r.acceptsVersion(p.providedVersion()))) {
                    return true;
                }
            }
            return false;
        }

        private boolean archAccepts(Relation r, PackageRecord pkg) {
            String q = r.archQualifier();
            if (q == null || q.equals("native")) {
                return true;
            }
            if (q.equals("any")) {
                return "allowed".equals(pkg.multiArch());
            }
            return q.equals(pkg.architecture()) || (q.equals(index.architecture()) && pkg.architecture().equals("all"));
        }

        private void indexProvides(PackageRecord pkg) {
            if (pkg.provides() == null) {
                return;
            }
            for (String term : pkg.provides().split(",")) {
                provided.computeIfAbsent(PackageIndex.providedName(term), k -> new ArrayList<>(1)).add(new PackageIndex.Provider(pkg, term));
            }
        }

        /** Conflicts and Breaks between selected packages; a package never conflicts with itself. */
        List<ResolutionException.Failure> conflicts() {
            List<ResolutionException.Failure> failures = new ArrayList<>();
            for (PackageRecord pkg : selected.values()) {
                List<List<Relation>> against = new ArrayList<>(Relation.parseField(pkg.conflicts()));
                against.addAll(Relation.parseField(pkg.breaks()));
                for (List<Relation> group : against) {
                    for (Relation r : group) {
                        PackageRecord other = selected.get(r.name());
                        if (other != null && other != pkg && r.acceptsVersion(other.version())) {
                            failures.add(new ResolutionException.Failure(-1, pkg + " conflicts with " + other + " (" + r + ")"));
                        }
                        for (PackageIndex.Provider p : provided.getOrDefault(r.name(), List.of())) {
                            if (p.pkg() != pkg && p.pkg() != other && r.operator() == null) {
                                failures.add(new ResolutionException.Failure(-1, pkg + " conflicts with " + p.pkg() + " (" + r + ")"));
                            }
                        }
                    }
                }
            }
            return failures;
        }

        private String noneIn(PackageRecord newest) {
            return "none in " + String.join(", ", index.suites()) + " (newest is " + newest.version()
                    + " in " + newest.origin().suite() + ")";
        }

        private static String groupText(List<Relation> group) {
            StringJoiner j = new StringJoiner(" | ");
            group.forEach(r -> j.add(r.toString()));
            return j.toString();
        }

        private static int priorityRank(String priority) {
            if (priority == null) {
                return 5;
            }
            return switch (priority) {
                case "required" -> 0;
                case "important" -> 1;
                case "standard" -> 2;
                case "optional" -> 3;
                default -> 4;
            };
        }
    }
}
