package dev.kiln.catalog;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The catalog as last loaded, loaded again only when a file in it changed. The service reads the
 * catalog on every build, tick and page, and parsing a thousand stacks takes over a second: a
 * scheduled tick over them would spend its time re-reading files nobody touched. Whether anything
 * changed is told by every file's and directory's size, modification time and identity (links
 * followed) down to the keyrings' depth. That costs 3 ms for a thousand files, so it is done at most
 * four times a second: a tick's thousand builds would otherwise spend seconds looking.
 */
public final class CatalogCache {

    // stacks at the top, keyrings a directory or two below (source.keyring: keys/x.gpg)
    private static final int DEPTH = 3;
    private static final long RECHECK_NANOS = 250_000_000L;

    private final Path directory;
    private final Catalog.Rules rules;
    private volatile Snapshot last;

    private record Snapshot(List<Object> state, Catalog catalog, long checkedAt) {
    }

    public CatalogCache(Path directory, Catalog.Rules rules) {
        this.directory = directory;
        this.rules = rules;
    }

    public Path directory() {
        return directory;
    }

    /** The catalog as its files are now, or were at most a quarter of a second ago. */
    public Catalog current() {
        Snapshot s = last;
        if (s != null && System.nanoTime() - s.checkedAt() < RECHECK_NANOS) {
            return s.catalog();
        }
        List<Object> state = state();
        long now = System.nanoTime();
        if (s != null && s.state().equals(state)) {
            last = new Snapshot(state, s.catalog(), now);
            return s.catalog();
        }
        synchronized (this) {
            s = last;
            if (s != null && s.state().equals(state)) {
                return s.catalog();
            }
            // the state is taken before loading: a change made while loading makes a later call load again
            Catalog catalog = Catalog.load(directory, rules);
            last = new Snapshot(state, catalog, now);
            return catalog;
        }
    }

    private List<Object> state() {
        List<Object> state = new ArrayList<>();
        if (!Files.isDirectory(directory)) {
            return state;
        }
        Path root;
        try {
            // a catalog that is itself a link (a mounted volume's): its target is walked, and a new target is a change
            root = directory.toRealPath();
        } catch (IOException e) {
            state.add(e.toString());
            return state;
        }
        state.add(root.toString());
        try (Stream<Path> walk = Files.walk(root, DEPTH)) {
            walk.filter(p -> !root.relativize(p).startsWith(".git")).sorted().forEach(p -> {
                state.add(root.relativize(p).toString());
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                    state.add(a.size());
                    state.add(a.lastModifiedTime());
                    state.add(a.fileKey());
                } catch (IOException e) {
                    state.add(e.getClass().getSimpleName()); // gone or unreadable: a state too, and Catalog.load says which
                }
            });
        } catch (IOException | UncheckedIOException e) {
            state.add(e.toString()); // load reports what is wrong; a later listing that works differs and loads again
        }
        return state;
    }
}
