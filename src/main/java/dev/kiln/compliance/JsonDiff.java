package dev.kiln.compliance;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import tools.jackson.databind.JsonNode;

/**
 * What changed between two JSON documents (stack definitions, image configs), field by field:
 * {@code hardening.removeShells: false -> true}. A list of plain values (packages, excludes, tags)
 * is compared as a set, so one package added reads as one change, not as every later index moving.
 */
public final class JsonDiff {

    private JsonDiff() {
    }

    /**
     * One change at {@code path}; {@code from} or {@code to} is null when the field (or list item) was
     * added or removed. Values are JSON text.
     */
    public record Change(String path, String from, String to) {
        public String kind() {
            return from == null ? "added" : to == null ? "removed" : "changed";
        }

        @Override
        public String toString() {
            return from == null ? "+ " + path + ": " + to : to == null ? "- " + path + ": " + from : "~ " + path + ": " + from + " -> " + to;
        }
    }

    /** The changes from {@code before} to {@code after}; either may be null (nothing). */
    public static List<Change> of(JsonNode before, JsonNode after) {
        List<Change> changes = new ArrayList<>();
        diff("", before, after, changes);
        return changes;
    }

    private static void diff(String path, JsonNode a, JsonNode b, List<Change> out) {
        boolean hasA = a != null && !a.isMissingNode() && !a.isNull();
        boolean hasB = b != null && !b.isMissingNode() && !b.isNull();
        if (!hasA && !hasB) {
            return;
        }
        // a side that is missing where the other is an object counts as an empty object: its fields are listed one by one
        boolean objects = (!hasA || a.isObject()) && (!hasB || b.isObject());
        if (objects) {
            Set<String> names = new TreeSet<>();
            if (hasA) {
                a.propertyNames().forEach(names::add);
            }
            if (hasB) {
                b.propertyNames().forEach(names::add);
            }
            for (String name : names) {
                diff(path.isEmpty() ? name : path + "." + name, hasA ? a.get(name) : null, hasB ? b.get(name) : null, out);
            }
            return;
        }
        if (hasA && hasB && a.isArray() && b.isArray() && scalars(a) && scalars(b)) {
            Set<String> left = texts(a);
            Set<String> right = texts(b);
            left.stream().filter(v -> !right.contains(v)).forEach(v -> out.add(new Change(path, v, null)));
            right.stream().filter(v -> !left.contains(v)).forEach(v -> out.add(new Change(path, null, v)));
            return;
        }
        if (hasA && hasB && a.isArray() && b.isArray()) {
            for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
                diff(path + "[" + i + "]", a.get(i), b.get(i), out);
            }
            return;
        }
        if (hasA && hasB && a.equals(b)) {
            return;
        }
        out.add(new Change(path, hasA ? a.toString() : null, hasB ? b.toString() : null));
    }

    private static boolean scalars(JsonNode array) {
        for (JsonNode n : array) {
            if (n.isContainer()) {
                return false;
            }
        }
        return true;
    }

    private static Set<String> texts(JsonNode array) {
        Set<String> out = new LinkedHashSet<>();
        array.forEach(n -> out.add(n.toString()));
        return out;
    }
}
