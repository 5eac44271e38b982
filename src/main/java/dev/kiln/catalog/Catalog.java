package dev.kiln.catalog;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The catalog directory: one {@code <stack>.yaml} per stack. Loading never stops at a bad file: every
 * file is read, the valid ones become {@link Stack}s and everything wrong becomes a {@link Problem}.
 */
public final class Catalog {

    private static final JsonMapper CANONICAL = JsonMapper.builder()
            .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    private final Path directory;
    private final Map<String, Stack> stacks;
    private final Map<String, List<Problem>> problems;

    private Catalog(Path directory, Map<String, Stack> stacks, Map<String, List<Problem>> problems) {
        this.directory = directory;
        this.stacks = stacks;
        this.problems = problems;
    }

    /**
     * Rules a catalog is held to beyond its own content.
     *
     * @param minScheduleInterval a cron may not fire more often than this ({@code kiln.min-schedule-interval})
     */
    public record Rules(java.time.Duration minScheduleInterval) {
        public static final Rules DEFAULT = new Rules(java.time.Duration.ofHours(1));
    }

    public static Catalog load(Path directory) {
        return load(directory, Rules.DEFAULT);
    }

    public static Catalog load(Path directory, Rules rules) {
        Map<String, Stack> stacks = new TreeMap<>();
        Map<String, List<Problem>> problems = new TreeMap<>();
        if (!Files.isDirectory(directory)) {
            problems.put("", List.of(new Problem(directory.toString(), "", "the catalog directory does not exist")));
            return new Catalog(directory, stacks, problems);
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(directory)) {
            files = list.filter(p -> p.getFileName().toString().matches(".*\\.ya?ml")).sorted().toList();
        } catch (IOException e) {
            problems.put("", List.of(new Problem(directory.toString(), "", "cannot list: " + e.getMessage())));
            return new Catalog(directory, stacks, problems);
        }
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            String name = fileName.substring(0, fileName.lastIndexOf('.'));
            List<Problem> found = new ArrayList<>();
            if (stacks.containsKey(name) || problems.containsKey(name)) {
                found.add(new Problem(file.toString(), "", "a stack named '" + name + "' is already defined by another file"));
                problems.computeIfAbsent(name, k -> new ArrayList<>()).addAll(found);
                continue;
            }
            Stack stack = outside(file, directory, found) ? null : parse(name, file, directory, rules, found);
            if (stack != null) {
                stacks.put(name, stack);
            } else {
                problems.put(name, List.copyOf(found));
            }
        }
        return new Catalog(directory, stacks, problems);
    }

    /**
     * Whether a stack file is a link to somewhere outside the catalog, or not a regular file: the catalog
     * is the reviewed input, and a link would let a stack be defined by a file nobody reviewed.
     */
    private static boolean outside(Path file, Path directory, List<Problem> found) {
        try {
            Path real = file.toRealPath();
            if (!real.startsWith(directory.toRealPath())) {
                found.add(new Problem(file.toString(), "", "is a symbolic link to " + real + ", outside the catalog directory; refusing it"));
                return true;
            }
            if (!Files.isRegularFile(real)) {
                found.add(new Problem(file.toString(), "", "is not a regular file"));
                return true;
            }
            return false;
        } catch (IOException e) {
            found.add(new Problem(file.toString(), "", "cannot be read: " + e.getMessage()));
            return true;
        }
    }

    private static Stack parse(String name, Path file, Path directory, Rules rules, List<Problem> found) {
        YamlTree tree = new YamlTree(file.toString(), found);
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(10);
        options.setCodePointLimit(1 << 20);
        Node root;
        String text;
        try {
            text = utf8(Files.readAllBytes(file));
        } catch (IOException e) {
            tree.problem("", "cannot read: " + e.getMessage());
            return null;
        } catch (IllegalArgumentException e) {
            tree.problem("", e.getMessage());
            return null;
        }
        try (Reader reader = new java.io.StringReader(text)) {
            Yaml yaml = new Yaml(new SafeConstructor(options));
            List<Node> docs = new ArrayList<>();
            yaml.composeAll(reader).forEach(docs::add);
            if (docs.isEmpty()) {
                tree.problem("", "the file is empty");
                return null;
            }
            if (docs.size() > 1) {
                tree.problem("", "holds " + docs.size() + " YAML documents; one stack per file");
                return null;
            }
            root = docs.get(0);
        } catch (MarkedYAMLException e) {
            tree.problem("", "not valid YAML at line " + (e.getProblemMark().getLine() + 1) + ": " + e.getProblem());
            return null;
        } catch (YAMLException | IOException e) {
            tree.problem("", "cannot read: " + e.getMessage());
            return null;
        }
        return new StackParser(name, directory, rules, tree).parse(root, found);
    }

    /** The text of a UTF-8 file; anything else is named with its line and column. */
    private static String utf8(byte[] bytes) {
        java.nio.charset.CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length + 1);
        java.nio.charset.CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            int at = in.position();
            int line = 1;
            int lineStart = 0;
            for (int i = 0; i < at; i++) {
                if (bytes[i] == '\n') {
                    line++;
                    lineStart = i + 1;
                }
            }
            throw new IllegalArgumentException(String.format("not UTF-8: byte 0x%02X at line %d, column %d", bytes[at] & 0xFF, line,
                    at - lineStart + 1));
        }
        decoder.flush(out);
        return out.flip().toString();
    }

    public Path directory() {
        return directory;
    }

    /** The valid stacks, by name. */
    public List<Stack> stacks() {
        return List.copyOf(stacks.values());
    }

    public Optional<Stack> stack(String name) {
        return Optional.ofNullable(stacks.get(name));
    }

    /** Every problem found, grouped by stack name in name order. */
    public List<Problem> problems() {
        return problems.values().stream().flatMap(List::stream).toList();
    }

    public List<Problem> problems(String stack) {
        return problems.getOrDefault(stack, List.of());
    }

    /** Names of every stack file, valid or not. */
    public List<String> names() {
        TreeMap<String, Object> all = new TreeMap<>(stacks);
        problems.keySet().stream().filter(k -> !k.isEmpty()).forEach(k -> all.put(k, k));
        return List.copyOf(all.keySet());
    }

    public Path file(String stack) {
        return directory.resolve(stack + ".yaml");
    }

    public Path keyring(Stack stack) {
        return directory.resolve(stack.source().keyring());
    }

    /**
     * The stack definition's digest: SHA-256 over its canonical JSON with defaults applied, so comments,
     * key order and spelled-out defaults do not change it, and any meaningful edit does.
     */
    public static String digest(Stack stack) {
        return digest(canonical(stack));
    }

    /** The stack definition as the canonical JSON its digest is taken over (what a build records to be rebuilt from). */
    public static String canonical(Stack stack) {
        return CANONICAL.writeValueAsString(stack);
    }

    /** The SHA-256 of a canonical definition, in the form {@link #digest(Stack)} gives. */
    public static String digest(String canonical) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A stack back from its recorded canonical JSON. The caller checks {@link #digest(String)} against the
     * recorded digest first: only the exact definition a build was made from is accepted.
     */
    public static Stack fromCanonical(String canonical) {
        Stack stack = CANONICAL.readValue(canonical, Stack.class);
        if (!canonical(stack).equals(canonical)) {
            throw new IllegalArgumentException("the recorded stack definition does not read back to itself");
        }
        return stack;
    }
}
