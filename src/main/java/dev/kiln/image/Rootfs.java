package dev.kiln.image;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The merged filesystem of an image (upper layers win), for path resolution and the checks. Symlinks are
 * followed the way the kernel does, including those in intermediate directories ({@code /lib → usr/lib}).
 */
final class Rootfs {

    static final int MAX_LINKS = 40;

    private final Map<String, Item> items = new LinkedHashMap<>();

    void add(Item item) {
        items.put(item.path(), item);
    }

    Optional<Item> get(String path) {
        return Optional.ofNullable(items.get(path));
    }

    Collection<Item> items() {
        return items.values();
    }

    /** The item a path names after following every symlink, or empty when it leads nowhere. */
    Optional<Item> resolve(String path) {
        return Optional.ofNullable(canonical(path, true)).map(items::get);
    }

    /** The path with symlinks in its directories (and, if {@code followLast}, in its last part) resolved. */
    String canonical(String path, boolean followLast) {
        String[] parts = StagedPackage.normalize(path).split("/");
        String current = "";
        int hops = 0;
        java.util.ArrayDeque<String> pending = new java.util.ArrayDeque<>(java.util.List.of(parts));
        while (!pending.isEmpty()) {
            String part = pending.removeFirst();
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                current = parent(current);
                continue;
            }
            String next = current.isEmpty() ? part : current + "/" + part;
            Item item = items.get(next);
            boolean last = pending.isEmpty();
            if (item != null && item.type() == Item.Type.SYMLINK && (!last || followLast)) {
                if (++hops > MAX_LINKS) {
                    return null;
                }
                String target = item.link();
                String[] targetParts = target.split("/");
                for (int i = targetParts.length - 1; i >= 0; i--) {
                    pending.addFirst(targetParts[i]);
                }
                if (target.startsWith("/")) {
                    current = "";
                }
                continue;
            }
            current = next;
        }
        return current;
    }

    static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }

    static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
