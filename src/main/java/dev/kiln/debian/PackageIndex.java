package dev.kiln.debian;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The packages of several suites merged for one architecture: every version of every package, newest
 * first, and who provides each virtual name. Immutable once built.
 *
 * <p>Stanzas are kept as compact records in one byte array and turned into {@link PackageRecord}s only
 * when asked for, versions sorted then too: a resolution looks at a few hundred of the ~70,000, and
 * the array and its two lookup tables are all the on-disk snapshot holds, so a warm run reads them
 * back without decoding a single record.
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

    /** The stored text fields of a record, in record order (Size and Essential are stored as numbers). */
    private static final int[] TEXT_FIELDS = {PackagesParser.PACKAGE, PackagesParser.VERSION, PackagesParser.ARCHITECTURE,
            PackagesParser.FILENAME, PackagesParser.SHA256, PackagesParser.PRIORITY, PackagesParser.MULTI_ARCH,
            PackagesParser.PRE_DEPENDS, PackagesParser.DEPENDS, PackagesParser.PROVIDES, PackagesParser.CONFLICTS,
            PackagesParser.BREAKS, PackagesParser.SECTION};

    private final String architecture;
    private final List<String> suites;
    private final List<PackageRecord.Origin> origins;
    private final List<String> sources;
    private final byte[] data;
    private final Map<String, int[]> byName;
    private final Map<String, int[]> providers;
    /** Each name's versions, decoded and sorted once: an index with thousands of one name stays linear. */
    private final Map<String, List<PackageRecord>> sorted = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The parts an index is made of; what a snapshot stores. Record offsets index {@code data};
     * {@code sources} holds, for each origin, the SHA-256 of the index its records came from ("" when unknown).
     */
    record Parts(String architecture, List<String> suites, List<PackageRecord.Origin> origins, List<String> sources,
                 byte[] data, Map<String, int[]> byName, Map<String, int[]> providers) {
    }

    PackageIndex(Parts parts) {
        this.architecture = parts.architecture();
        this.suites = List.copyOf(parts.suites());
        this.origins = List.copyOf(parts.origins());
        this.sources = List.copyOf(parts.sources());
        this.data = parts.data();
        this.byName = parts.byName();
        this.providers = parts.providers();
    }

    Parts parts() {
        return new Parts(architecture, suites, origins, sources, data, byName, providers);
    }

    /** The SHA-256 of the index this origin's records came from, or null when they are not here or it is unknown. */
    String source(PackageRecord.Origin origin) {
        int id = origins.indexOf(origin);
        return id < 0 || sources.get(id).isEmpty() ? null : sources.get(id);
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
        int[] offsets = byName.get(name);
        if (offsets == null) {
            return List.of();
        }
        return sorted.computeIfAbsent(name, n -> {
            List<PackageRecord> records = new ArrayList<>(offsets.length);
            for (int offset : offsets) {
                records.add(record(data, offset, origins));
            }
            // sorted here, not when built: a resolution asks for a few hundred names of ~70,000
            records.sort(Comparator.comparing(PackageRecord::version).reversed());
            return List.copyOf(records);
        });
    }

    /** The newest version of each package that provides {@code name}. */
    List<Provider> providers(String name) {
        int[] offsets = providers.get(name);
        if (offsets == null) {
            return List.of();
        }
        List<Provider> result = new ArrayList<>(offsets.length);
        for (int offset : offsets) {
            PackageRecord pkg = record(data, offset, origins);
            // apt only considers what each package's candidate (its newest version) provides
            if (!versions(pkg.name()).get(0).equals(pkg)) {
                continue;
            }
            for (String term : pkg.provides().split(",")) {
                if (providedName(term).equals(name)) {
                    result.add(new Provider(pkg, term));
                }
            }
        }
        return result;
    }

    public int size() {
        return byName.values().stream().mapToInt(o -> o.length).sum();
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

    /*
     * Record layout: essential (1 byte), origin (varint), size (varint), then the TEXT_FIELDS, each a
     * varint of length + 1 (0 = absent) and its UTF-8 bytes.
     */

    private static PackageRecord record(byte[] data, int offset, List<PackageRecord.Origin> origins) {
        Cursor c = new Cursor(data, offset);
        boolean essential = data[c.pos++] != 0;
        PackageRecord.Origin origin = origins.get((int) c.varint());
        long size = c.varint();
        String name = c.text();
        String version = c.text();
        return new PackageRecord(name, DebianVersion.parse(version), c.text(), origin, c.text(), size, c.text(), c.text(),
                essential, c.text(), c.text(), c.text(), c.text(), c.text(), c.text(), c.text());
    }

    private static final class Cursor {
        private final byte[] data;
        int pos;

        Cursor(byte[] data, int pos) {
            this.data = data;
            this.pos = pos;
        }

        long varint() {
            long value = 0;
            int shift = 0;
            byte b;
            do {
                b = data[pos++];
                value |= (long) (b & 0x7f) << shift;
                shift += 7;
            } while (b < 0);
            return value;
        }

        String text() {
            int length = (int) varint() - 1;
            if (length < 0) {
                return null;
            }
            String s = new String(data, pos, length, StandardCharsets.UTF_8);
            pos += length;
            return s;
        }

    }

    public static final class Builder {
        private final String architecture;
        private final byte[] architectureBytes;
        private final List<String> suites = new ArrayList<>();
        private final List<PackageRecord.Origin> origins = new ArrayList<>();
        private final List<String> sources = new ArrayList<>();
        private final Map<String, Offsets> byName = new HashMap<>(1 << 17);
        private final Map<String, Offsets> provides = new HashMap<>(1 << 14);
        private byte[] data = new byte[1 << 20];
        private int length;

        private Builder(String architecture) {
            this.architecture = architecture;
            this.architectureBytes = architecture.getBytes(StandardCharsets.UTF_8);
        }

        public Builder suite(String suite) {
            if (!suites.contains(suite)) {
                suites.add(suite);
            }
            return this;
        }

        /** The id of an origin, registered on first use. */
        int origin(PackageRecord.Origin origin) {
            suite(origin.suite());
            int id = origins.indexOf(origin);
            if (id < 0) {
                origins.add(origin);
                sources.add("");
                id = origins.size() - 1;
            }
            return id;
        }

        /** Registers an origin with the SHA-256 of the index its records come from. */
        public Builder source(PackageRecord.Origin origin, String sha256) {
            sources.set(origin(origin), sha256);
            return this;
        }

        /**
         * Copies every record of {@code origin} from an index built before, as they are: for an index
         * that did not change, cheaper than parsing it again by the whole parse. Returns how many.
         */
        int copy(PackageIndex previous, PackageRecord.Origin origin) {
            int from = previous.origins.indexOf(origin);
            int to = origin(origin);
            byte[] old = previous.data;
            int copied = 0;
            int pos = 0;
            while (pos < old.length) {
                Cursor c = new Cursor(old, pos + 1);
                int id = (int) c.varint();
                int rest = c.pos;
                c.varint(); // size
                int name = c.pos;
                int provides = -1;
                for (int k = 0; k < TEXT_FIELDS.length; k++) {
                    if (TEXT_FIELDS[k] == PackagesParser.PROVIDES) {
                        provides = c.pos;
                    }
                    int n = (int) c.varint() - 1;
                    c.pos += Math.max(n, 0);
                }
                int end = c.pos;
                if (id == from) {
                    int offset = length;
                    if (length + 6 + end - rest > data.length) {
                        data = Arrays.copyOf(data, Math.max(data.length * 2, length + 6 + end - rest));
                    }
                    data[length++] = old[pos];
                    varint(to);
                    System.arraycopy(old, rest, data, length, end - rest);
                    length += end - rest;
                    append(byName, new Cursor(old, name).text(), offset);
                    String provided = new Cursor(old, provides).text();
                    if (provided != null) {
                        for (String term : provided.split(",")) {
                            append(this.provides, providedName(term), offset);
                        }
                    }
                    copied++;
                }
                pos = end;
            }
            return copied;
        }

        private static final byte[] ALL = {'a', 'l', 'l'};
        private static final byte[] YES = {'y', 'e', 's'};

        /** Adds one checked stanza; stanzas of other architectures are ignored. */
        void add(PackagesParser.Stanza stanza, int originId, long size) {
            if (!stanza.is(PackagesParser.ARCHITECTURE, architectureBytes) && !stanza.is(PackagesParser.ARCHITECTURE, ALL)) {
                return;
            }
            int offset = length;
            int need = 1 + 20;
            for (int f : TEXT_FIELDS) {
                need += 5 + Math.max(stanza.end[f] - stanza.start[f], 0);
            }
            if (length + need > data.length) {
                data = Arrays.copyOf(data, Math.max(data.length * 2, length + need));
            }
            data[length++] = (byte) (stanza.has(PackagesParser.ESSENTIAL) && isYes(stanza) ? 1 : 0);
            varint(originId);
            varint(size);
            for (int f : TEXT_FIELDS) {
                if (stanza.start[f] < 0) {
                    data[length++] = 0;
                    continue;
                }
                int n = stanza.end[f] - stanza.start[f];
                varint(n + 1L);
                System.arraycopy(stanza.buf, stanza.start[f], data, length, n);
                length += n;
            }
            append(byName, stanza.text(PackagesParser.PACKAGE), offset);
            if (stanza.has(PackagesParser.PROVIDES)) {
                for (String term : stanza.text(PackagesParser.PROVIDES).split(",")) {
                    append(provides, providedName(term), offset);
                }
            }
        }

        /**
         * Adds an offset to a name's list, once. The list grows by doubling: an index that repeats one
         * name in every stanza (a hostile one, say) must cost what its size costs, not its square.
         */
        private static void append(Map<String, Offsets> table, String name, int offset) {
            table.computeIfAbsent(name, k -> new Offsets()).add(offset);
        }

        private static Map<String, int[]> frozen(Map<String, Offsets> table) {
            Map<String, int[]> out = new HashMap<>(Math.max(16, table.size() * 4 / 3 + 1));
            table.forEach((name, offsets) -> out.put(name, Arrays.copyOf(offsets.values, offsets.size)));
            return out;
        }

        private static boolean isYes(PackagesParser.Stanza stanza) {
            int from = stanza.start[PackagesParser.ESSENTIAL];
            if (stanza.end[PackagesParser.ESSENTIAL] - from != YES.length) {
                return false;
            }
            for (int i = 0; i < YES.length; i++) {
                if ((stanza.buf[from + i] | 0x20) != YES[i]) {
                    return false;
                }
            }
            return true;
        }

        private void varint(long value) {
            while ((value & ~0x7fL) != 0) {
                data[length++] = (byte) ((value & 0x7f) | 0x80);
                value >>>= 7;
            }
            data[length++] = (byte) value;
        }

        public PackageIndex build() {
            return new PackageIndex(new Parts(architecture, suites, origins, sources, Arrays.copyOf(data, length), frozen(byName),
                    frozen(provides)));
        }
    }

    /** A growable list of record offsets. */
    private static final class Offsets {
        int[] values = new int[1];
        int size;

        void add(int offset) {
            if (size > 0 && values[size - 1] == offset) {
                return;
            }
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = offset;
        }
    }
}
