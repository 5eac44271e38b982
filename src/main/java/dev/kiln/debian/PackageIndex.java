package dev.kiln.debian;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The packages of several suites merged for one architecture: every version of every package, newest
 * first, and who provides each virtual name. Immutable once built.
 */
public final class PackageIndex {

    /**
     * A package that provides a name, optionally at a version ({@code Provides: foo (= 1.2)}). The term is
     * kept as text and parsed when asked: some packages provide hundreds of names nobody depends on.
     */
    record Provider(PackageRecord pkg, String term) {
        DebianVersion providedVersion() {
            return term.indexOf('(') < 0 ? null : Relation.parse(term).version();
        }
    }

    private final String architecture;
    private final List<String> suites;
    private final Map<String, List<PackageRecord>> byName;
    private final Map<String, List<Provider>> providers;

    private PackageIndex(String architecture, List<String> suites, Map<String, List<PackageRecord>> byName,
                         Map<String, List<Provider>> providers) {
        this.architecture = architecture;
        this.suites = List.copyOf(suites);
        this.byName = byName;
        this.providers = providers;
    }

    public static Builder builder(String architecture) {
        return new Builder(architecture);
    }

    public String architecture() {
        return architecture;
    }

    /** The suites merged here, in the order they were added; used to word "none in ..." messages. */
    public List<String> suites() {
        return suites;
    }

    /** All versions of a real package, newest first (ties keep the order the suites were added in). */
    public List<PackageRecord> versions(String name) {
        return byName.getOrDefault(name, List.of());
    }

    /** The newest version of each package that provides {@code name}. */
    List<Provider> providers(String name) {
        return providers.getOrDefault(name, List.of());
    }

    /** Every version of every package, each name's versions newest first (what a snapshot saves). */
    void forEachVersion(java.util.function.Consumer<PackageRecord> action) {
        byName.values().forEach(versions -> versions.forEach(action));
    }

    public int size() {
        return byName.values().stream().mapToInt(List::size).sum();
    }

    /** The name in a Provides term, without parsing the rest. */
    static String providedName(String term) {
        int start = 0;
        int end = term.length();
        while (start < end && term.charAt(start) == ' ') {
            start++;
        }
        for (int i = start; i < end; i++) {
            char c = term.charAt(i);
            if (c == ' ' || c == '(' || c == ':') {
                end = i;
                break;
            }
        }
        return term.substring(start, end);
    }

    public static final class Builder {
        private final String architecture;
        private final List<String> suites = new ArrayList<>();
        private final Map<String, List<PackageRecord>> byName = new HashMap<>(1 << 17);

        private Builder(String architecture) {
            this.architecture = architecture;
        }

        /** Adds one stanza; stanzas of other architectures are ignored. */
        public Builder add(PackageRecord pkg) {
            if (!pkg.architecture().equals(architecture) && !pkg.architecture().equals("all")) {
                return this;
            }
            if (!suites.contains(pkg.origin().suite())) {
                suites.add(pkg.origin().suite());
            }
            byName.computeIfAbsent(pkg.name(), k -> new ArrayList<>(1)).add(pkg);
            return this;
        }

        public Builder suite(String suite) {
            if (!suites.contains(suite)) {
                suites.add(suite);
            }
            return this;
        }

        public PackageIndex build() {
            Comparator<PackageRecord> newestFirst = Comparator.comparing(PackageRecord::version).reversed();
            Map<String, List<PackageRecord>> sorted = new HashMap<>(byName.size() * 2);
            Map<String, List<Provider>> provides = new HashMap<>();
            for (Map.Entry<String, List<PackageRecord>> e : byName.entrySet()) {
                List<PackageRecord> versions = e.getValue();
                if (versions.size() > 1) {
                    versions.sort(newestFirst); // stable: for equal versions the first suite added wins
                }
                sorted.put(e.getKey(), Collections.unmodifiableList(versions));
                // apt only considers what each package's candidate (its newest version) provides
                PackageRecord newest = versions.get(0);
                if (newest.provides() == null) {
                    continue;
                }
                for (String term : newest.provides().split(",")) {
                    provides.computeIfAbsent(providedName(term), k -> new ArrayList<>(1)).add(new Provider(newest, term));
                }
            }
            return new PackageIndex(architecture, suites, sorted, provides);
        }
    }
}
