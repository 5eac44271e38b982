package dev.kiln.catalog;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Typed reads from a composed YAML node tree that never throw: each mismatch becomes a {@link Problem}
 * with its path and line, and the read returns null so parsing goes on and finds the rest.
 */
final class YamlTree {

    private final String file;
    private final List<Problem> problems;

    YamlTree(String file, List<Problem> problems) {
        this.file = file;
        this.problems = problems;
    }

    void problem(String path, String reason) {
        problems.add(new Problem(file, path, reason));
    }

    void problem(String path, Node node, String reason) {
        problem(path, reason + (node == null ? "" : " (line " + (node.getStartMark().getLine() + 1) + ")"));
    }

    /** The entries of a mapping; unknown and duplicate keys are problems. */
    Map<String, Node> mapping(Node node, String path, Set<String> allowed) {
        if (!(node instanceof MappingNode m) || !node.getTag().equals(Tag.MAP)) {
            problem(path, node, "must be a mapping, found " + kind(node));
            return null;
        }
        Map<String, Node> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            String key = t.getKeyNode() instanceof ScalarNode s ? s.getValue() : null;
            String at = join(path, String.valueOf(key));
            if (key == null) {
                problem(path, t.getKeyNode(), "keys must be plain strings");
            } else if (out.containsKey(key)) {
                problem(at, t.getKeyNode(), "duplicate key");
            } else if (allowed != null && !allowed.contains(key)) {
                problem(at, t.getKeyNode(), "unknown key; expected one of " + String.join(", ", allowed));
            } else {
                out.put(key, t.getValueNode());
            }
        }
        return out;
    }

    String string(Node node, String path) {
        if (node instanceof ScalarNode s && !s.getTag().equals(Tag.NULL)) {
            if (s.getTag().equals(Tag.STR) || s.getTag().equals(Tag.INT) || s.getTag().equals(Tag.FLOAT)) {
                return s.getValue();
            }
        }
        problem(path, node, "must be a string, found " + kind(node));
        return null;
    }

    Integer integer(Node node, String path, long min, long max) {
        if (node instanceof ScalarNode s && s.getTag().equals(Tag.INT)) {
            try {
                long v = Long.parseLong(s.getValue().replace("_", ""));
                if (v >= min && v <= max) {
                    return (int) v;
                }
                problem(path, node, "must be between " + min + " and " + max + ", found " + v);
                return null;
            } catch (NumberFormatException e) {
                // fall through to the type problem (hex, octal and the like are not accepted)
            }
        }
        problem(path, node, "must be a whole number, found " + kind(node));
        return null;
    }

    Boolean bool(Node node, String path) {
        if (node instanceof ScalarNode s && s.getTag().equals(Tag.BOOL)) {
            return Boolean.parseBoolean(s.getValue().toLowerCase(java.util.Locale.ROOT));
        }
        problem(path, node, "must be true or false, found " + kind(node));
        return null;
    }

    /** A list of strings; bad items are problems at {@code path[i]} and left out. */
    List<String> strings(Node node, String path) {
        if (!(node instanceof SequenceNode seq) || !node.getTag().equals(Tag.SEQ)) {
            problem(path, node, "must be a list, found " + kind(node));
            return null;
        }
        List<String> out = new ArrayList<>();
        List<Node> items = seq.getValue();
        for (int i = 0; i < items.size(); i++) {
            String s = string(items.get(i), path + "[" + i + "]");
            out.add(s);
        }
        return out;
    }

    List<Node> sequence(Node node, String path) {
        if (!(node instanceof SequenceNode seq) || !node.getTag().equals(Tag.SEQ)) {
            problem(path, node, "must be a list, found " + kind(node));
            return null;
        }
        return seq.getValue();
    }

    Map<String, String> stringMap(Node node, String path) {
        Map<String, Node> m = mapping(node, path, null);
        if (m == null) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            String s = string(v, join(path, k));
            if (s != null) {
                out.put(k, s);
            }
        });
        return out;
    }

    static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** Tags a stack file may carry (implicitly: plain YAML); any other, such as {@code !!binary}, is named. */
    private static final java.util.Set<Tag> PLAIN = java.util.Set.of(Tag.STR, Tag.INT, Tag.FLOAT, Tag.BOOL, Tag.NULL, Tag.MAP, Tag.SEQ);

    private static String kind(Node node) {
        if (node == null) {
            return "nothing";
        }
        if (!PLAIN.contains(node.getTag())) {
            String tag = node.getTag().getValue();
            return "a value with the YAML tag " + (tag.startsWith(Tag.PREFIX) ? "!!" + tag.substring(Tag.PREFIX.length()) : tag)
                    + " (tags are not allowed in a stack file)";
        }
        if (node instanceof MappingNode) {
            return "a mapping";
        }
        if (node instanceof SequenceNode) {
            return "a list";
        }
        Tag tag = node.getTag();
        if (tag.equals(Tag.NULL)) {
            return "null";
        }
        if (tag.equals(Tag.BOOL)) {
            return "a boolean";
        }
        if (tag.equals(Tag.INT) || tag.equals(Tag.FLOAT)) {
            return "a number";
        }
        return "'" + ((ScalarNode) node).getValue() + "'";
    }
}
