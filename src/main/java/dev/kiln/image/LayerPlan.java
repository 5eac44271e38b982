package dev.kiln.image;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which packages share a layer. Kiln's own files take the bottom and top layers; every package gets a
 * layer of its own while the budget lasts, so a layer's digest depends on its package alone and the
 * same package is the same layer in every stack. Past the budget, packages of at least
 * {@code largeBytes} keep their own layers (largest first) and the rest share up to four buckets by a
 * hash of their name, so a version update still changes exactly the layer its package is in.
 */
record LayerPlan(List<Group> groups) {

    static final int KILN_LAYERS = 2;
    private static final int MAX_BUCKETS = 4;

    LayerPlan {
        groups = List.copyOf(groups);
    }

    /** One package layer: a name for reports and the packages in it, sorted by name. */
    record Group(String name, List<String> packages) {
        Group {
            packages = List.copyOf(packages);
        }
    }

    /** @param sizes package name → size of its .deb */
    static LayerPlan plan(Map<String, Long> sizes, int maxLayers, long largeBytes) {
        if (maxLayers < KILN_LAYERS + 1) {
            throw new IllegalArgumentException("the layer budget must be at least " + (KILN_LAYERS + 1) + ", not " + maxLayers);
        }
        int slots = maxLayers - KILN_LAYERS;
        List<String> names = new ArrayList<>(new TreeMap<>(sizes).keySet());
        List<Group> groups = new ArrayList<>();
        if (names.size() <= slots) {
            names.forEach(n -> groups.add(new Group(n, List.of(n))));
            return new LayerPlan(groups);
        }
        List<String> large = names.stream()
                .filter(n -> sizes.get(n) >= largeBytes)
                .sorted(Comparator.comparing((String n) -> -sizes.get(n)).thenComparing(n -> n))
                .limit(slots - 1)
                .sorted()
                .toList();
        List<String> small = names.stream().filter(n -> !large.contains(n)).toList();
        int buckets = Math.max(1, Math.min(MAX_BUCKETS, Math.min(small.size(), slots - large.size())));
        List<List<String>> members = new ArrayList<>();
        for (int i = 0; i < buckets; i++) {
            members.add(new ArrayList<>());
        }
        small.forEach(n -> members.get(bucket(n, buckets)).add(n));
        large.forEach(n -> groups.add(new Group(n, List.of(n))));
        for (int i = 0; i < buckets; i++) {
            if (!members.get(i).isEmpty()) {
                groups.add(new Group("packages-" + (i + 1) + "-of-" + buckets, members.get(i)));
            }
        }
        return new LayerPlan(groups);
    }

    private static int bucket(String name, int buckets) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return Integer.remainderUnsigned(((hash[0] & 0xff) << 24) | ((hash[1] & 0xff) << 16) | ((hash[2] & 0xff) << 8) | (hash[3] & 0xff), buckets);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
