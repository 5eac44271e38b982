package dev.kiln.image;

import dev.kiln.catalog.Stack;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What Kiln does to every package's entries before they reach a layer: directory symlinks resolved
 * (dpkg writes through {@code /lib → usr/lib} too), dropped paths left out (licences stay), packages the
 * lock takes only a part of trimmed to it, shells and package managers removed when the stack asks,
 * everything owned by root, no group/other write bit (sticky {@code /tmp} and {@code /var/tmp} aside),
 * setuid/setgid stripped. Then, over all packages: shell scripts that no shell in the image can run
 * (maintainer tools such as {@code update-ca-certificates}) and symlinks left pointing into what Kiln
 * left out are removed. Every change is recorded in the report.
 */
final class Hardening {

    static final Set<String> SHELLS = Set.of("sh", "bash", "rbash", "dash", "zsh", "ksh", "ksh93", "mksh", "pdksh", "csh", "tcsh",
            "fish", "ash", "busybox", "toybox", "yash", "posh");
    private static final Pattern PACKAGE_MANAGERS = Pattern.compile(
            "dpkg(-.*)?|apt(-.*)?|aptitude|pip[0-9.]*|easy_install(-[0-9.]+)?|update-alternatives");
    static final Set<String> BIN_DIRS = Set.of("usr/bin", "usr/sbin", "bin", "sbin", "usr/local/bin", "usr/local/sbin");
    static final Set<String> STICKY_DIRS = Set.of("tmp", "var/tmp");
    private static final String DOC = "usr/share/doc";

    private final Stack.Hardening settings;
    private final List<String> dropPaths;
    private final Map<String, List<String>> only;
    private final Set<String> commands;
    private final List<String> setuidStripped = new ArrayList<>();
    private final List<String> removed = new ArrayList<>();
    private final List<String> tightened = new ArrayList<>();
    private final List<String> trimmed = new ArrayList<>();
    /** Every path Kiln left out on purpose: what a dangling link may point at without being a package's own fault. */
    private final Set<String> leftOut = new HashSet<>();
    private long droppedFiles;
    private long droppedBytes;

    /**
     * @param only package name → the only paths of it the image keeps (the lock's {@code only}); other
     *             packages are kept whole
     */
    Hardening(Stack stack, Map<String, List<String>> only) {
        this.settings = stack.hardening();
        this.dropPaths = settings.dropPaths().stream().map(StagedPackage::normalize).toList();
        Map<String, List<String>> normalized = new HashMap<>();
        only.forEach((name, paths) -> normalized.put(name, paths.stream().map(StagedPackage::normalize).toList()));
        this.only = Map.copyOf(normalized);
        Set<String> programs = new HashSet<>();
        for (List<String> command : List.of(stack.entrypoint(), stack.cmd())) {
            if (!command.isEmpty() && command.get(0).startsWith("/")) {
                programs.add(StagedPackage.normalize(command.get(0)));
            }
        }
        this.commands = Set.copyOf(programs);
    }

    /** The files {@link SystemFiles#base} and {@link SystemFiles#status} write, and the directory of the latter. */
    static final Set<String> KILN_FILES = Set.of("etc/passwd", "etc/group", "etc/nsswitch.conf");
    static final String STATUS_D = "var/lib/dpkg/status.d";

    /** A path Kiln writes, under the status.d Kiln writes, or a directory on the way to either. */
    static boolean isKilnsOwn(String path) {
        if (KILN_FILES.contains(path) || path.equals(STATUS_D) || path.startsWith(STATUS_D + "/")) {
            return true;
        }
        return path.equals("etc") || (STATUS_D + "/").startsWith(path + "/");
    }

    static boolean isShell(String path) {
        return BIN_DIRS.contains(Rootfs.parent(path)) && SHELLS.contains(Rootfs.name(path));
    }

    static boolean isPackageManager(String path) {
        return BIN_DIRS.contains(Rootfs.parent(path)) && PACKAGE_MANAGERS.matcher(Rootfs.name(path)).matches();
    }

    /** The package's entries as they go into the image; {@code links} resolves directory symlinks. */
    List<Item> apply(StagedPackage pkg, Rootfs links) {
        List<Item> out = new ArrayList<>();
        Map<String, Item> droppedByPath = new HashMap<>();
        Set<String> removedHere = new HashSet<>();
        List<String> keepOnly = only.get(pkg.name());
        String label = pkg.name() + " " + pkg.version();
        Map<String, String> dirs = new HashMap<>();
        for (Item original : pkg.items()) {
            Item item = original.withPath(canonical(original.path(), links, label, dirs));
            if (item.type() == Item.Type.HARDLINK) {
                item = item.withLink(canonical(item.link(), links, label, dirs));
            }
            String path = item.path();
            if (item.type() != Item.Type.DIRECTORY && isKilnsOwn(path)) {
                // below Kiln's files in the layer order only the base is; a package's status.d/openssl in a higher layer
                // would be what scanners read for openssl, and a symlink at var/lib/dpkg would send every status.d away
                throw new ImageException(label + ": /" + path + " is " + (KILN_FILES.contains(path) || path.startsWith(STATUS_D + "/")
                        ? "a file Kiln writes itself" : "a directory of the files Kiln writes itself")
                        + " (the user database, dpkg's status for scanners); a package may not ship it; refusing the package");
            }
            if (dropped(path)) {
                droppedByPath.put(path, item);
                leftOut.add(path);
                if (item.type() != Item.Type.DIRECTORY) {
                    droppedFiles++;
                    droppedBytes += item.size();
                }
                continue;
            }
            if (keepOnly != null && !within(path, keepOnly) && !isLicence(path)) {
                droppedByPath.put(path, item);
                leftOut.add(path);
                if (item.type() != Item.Type.DIRECTORY) {
                    trimmed.add("/" + path + " (from " + pkg.name() + ", of which the image keeps only "
                            + String.join(", ", keepOnly.stream().map(p -> "/" + p).toList()) + ")");
                }
                continue;
            }
            if (item.type() != Item.Type.DIRECTORY && settings.removeShells() && isShell(path)) {
                removed.add("/" + path + " (shell, from " + pkg.name() + ")");
                leftOut.add(path);
                removedHere.add(path);
                continue;
            }
            if (item.type() != Item.Type.DIRECTORY && settings.removePackageManagers() && isPackageManager(path)) {
                removed.add("/" + path + " (package manager, from " + pkg.name() + ")");
                leftOut.add(path);
                removedHere.add(path);
                continue;
            }
            if (item.type() == Item.Type.HARDLINK && removedHere.contains(item.link())) {
                // the same program under another name: kept, it would be the shell the stack asked to remove
                removed.add("/" + path + " (hard link to the removed /" + item.link() + ", from " + pkg.name() + ")");
                leftOut.add(path);
                continue;
            }
            if (item.type() == Item.Type.HARDLINK && droppedByPath.containsKey(item.link())) {
                // the link's target was dropped: keep this name as a file of its own
                item = item.asFile(droppedByPath.get(item.link()).content());
            }
            out.add(secure(item, pkg.name()));
        }
        return out;
    }

    /**
     * The second pass, once every package has been through {@link #apply}: removes executable shell
     * scripts when the image has no shell to run them (maintainer tools: {@code update-ca-certificates},
     * {@code update-motd.d}, {@code ca-certificates/update.d} hooks ...), then symlinks whose target Kiln
     * left out (a dropped path, a removed file), repeatedly, so a chain of links goes as a whole. The
     * stack's entrypoint and cmd stay: if they cannot run, the checks say why.
     *
     * @param contents package name → its entries from {@link #apply}, in layer order
     * @param base     Kiln's own bottom-layer entries
     */
    Map<String, List<Item>> settle(Map<String, List<Item>> contents, List<Item> base) {
        Map<String, List<Item>> result = new LinkedHashMap<>();
        contents.forEach((name, items) -> result.put(name, new ArrayList<>(items)));
        Rootfs fs = rootfs(base, result);
        for (Map.Entry<String, List<Item>> entry : result.entrySet()) {
            entry.getValue().removeIf(item -> {
                Optional<String> interpreter = unrunnableShell(item, fs);
                interpreter.ifPresent(shell -> {
                    removed.add("/" + item.path() + " (script for " + shell + ", which the image does not have; from " + entry.getKey() + ")");
                    leftOut.add(item.path());
                });
                return interpreter.isPresent();
            });
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            Rootfs now = rootfs(base, result);
            for (Map.Entry<String, List<Item>> entry : result.entrySet()) {
                List<Item> gone = new ArrayList<>();
                for (Item item : entry.getValue()) {
                    if (item.type() != Item.Type.SYMLINK || now.resolve(item.path()).isPresent()) {
                        continue;
                    }
                    String target = now.canonical(item.path(), true);
                    String cause = target == null ? null : leftOutCause(target);
                    if (cause != null) {
                        gone.add(item);
                        removed.add("/" + item.path() + " (link to /" + target + ", " + cause + "; from " + entry.getKey() + ")");
                    }
                }
                if (!gone.isEmpty()) {
                    entry.getValue().removeAll(gone);
                    gone.forEach(i -> leftOut.add(i.path()));
                    changed = true;
                }
            }
        }
        return result;
    }

    Item secure(Item item, String owner) {
        int mode = item.mode();
        if (item.type() == Item.Type.SYMLINK) {
            return new Item(item.path(), item.type(), 0777, 0, 0, item.mtime(), item.link(), null);
        }
        if (settings.stripSetuid() && (mode & 06000) != 0) {
            setuidStripped.add("/" + item.path() + " " + octal(mode) + " -> " + octal(mode & ~06000) + " (from " + owner + ")");
            mode &= ~06000;
        }
        if (item.type() == Item.Type.DIRECTORY && STICKY_DIRS.contains(item.path())) {
            mode = 01777;
        } else if ((mode & 022) != 0 || (item.type() == Item.Type.DIRECTORY && (mode & 01000) != 0)) {
            int safe = mode & ~022 & ~01000;
            tightened.add("/" + item.path() + " " + octal(mode) + " -> " + octal(safe) + " (from " + owner + ")");
            mode = safe;
        }
        if (item.uid() != 0 || item.gid() != 0) {
            tightened.add("/" + item.path() + " owner " + item.uid() + ":" + item.gid() + " -> 0:0 (from " + owner + ")");
        }
        return new Item(item.path(), item.type(), mode, 0, 0, item.mtime(), item.link(), item.content());
    }

    Composition.Report report(Verifier.Result verified, List<String> generated) {
        return new Composition.Report(setuidStripped, removed, tightened, droppedFiles, droppedBytes, verified.elfFiles(),
                verified.librariesResolved(), generated, trimmed, verified.checks());
    }

    /** Licences stay whatever the drop paths say: {@code /usr/share/doc/PKG/copyright} is what compliance and scanners read. */
    private boolean dropped(String path) {
        if (isLicence(path)) {
            return false;
        }
        for (String drop : dropPaths) {
            if (path.equals(drop) || path.startsWith(drop + "/")) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code usr/share/doc/PKG/copyright}, the directories above it, and {@code usr/share/doc/PKG} itself
     * (a directory, or Debian's symlink to the doc directory of the package it shares a source with).
     */
    static boolean isLicence(String path) {
        if (path.equals("usr") || path.equals("usr/share") || path.equals(DOC)) {
            return true;
        }
        if (!path.startsWith(DOC + "/")) {
            return false;
        }
        String[] parts = path.substring(DOC.length() + 1).split("/");
        return parts.length == 1 || parts.length == 2 && parts[1].equals("copyright");
    }

    /** Whether {@code path} is one of {@code roots}, below one, or a directory leading to one. */
    private static boolean within(String path, List<String> roots) {
        for (String root : roots) {
            if (path.equals(root) || path.startsWith(root + "/") || root.startsWith(path + "/")) {
                return true;
            }
        }
        return false;
    }

    /** Why a missing path is missing, when Kiln left it out; null when no package ever had it. */
    private String leftOutCause(String target) {
        for (String drop : dropPaths) {
            if (target.equals(drop) || target.startsWith(drop + "/")) {
                return "which hardening.dropPaths leaves out (/" + drop + ")";
            }
        }
        // the target itself: a directory Kiln left out of one package may still come from another
        return leftOut.contains(target) ? "which Kiln left out" : null;
    }

    /** The shell an executable script needs when no such shell is in the image; empty otherwise. */
    private Optional<String> unrunnableShell(Item item, Rootfs fs) {
        if (item.type() != Item.Type.FILE || (item.mode() & 0111) == 0 || item.size() < 4 || commands.contains(item.path())) {
            return Optional.empty();
        }
        String line;
        try {
            byte[] head = item.content().read(0, 128);
            if (head[0] != '#' || head[1] != '!') {
                return Optional.empty();
            }
            line = new String(head, 2, head.length - 2, StandardCharsets.ISO_8859_1).split("\n", 2)[0].strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String[] words = line.split("\\s+");
        String interpreter = words[0];
        if (Rootfs.name(interpreter).equals("env") && words.length > 1) {
            String program = words[1].equals("-S") && words.length > 2 ? words[2] : words[1];
            if (!SHELLS.contains(Rootfs.name(program))) {
                return Optional.empty();
            }
            boolean found = fs.resolve(interpreter).isPresent()
                    && BIN_DIRS.stream().anyMatch(dir -> fs.resolve(dir + "/" + program).filter(i -> i.type() == Item.Type.FILE).isPresent());
            return found ? Optional.empty() : Optional.of(line);
        }
        if (!SHELLS.contains(Rootfs.name(interpreter))) {
            return Optional.empty();
        }
        return fs.resolve(interpreter).filter(i -> i.type() == Item.Type.FILE).isPresent() ? Optional.empty() : Optional.of(interpreter);
    }

    private static Rootfs rootfs(List<Item> base, Map<String, List<Item>> contents) {
        Rootfs fs = new Rootfs();
        base.forEach(fs::add);
        contents.values().forEach(items -> items.forEach(fs::add));
        return fs;
    }

    private static String canonical(String path, Rootfs links, String label, Map<String, String> dirs) {
        String parent = Rootfs.parent(path);
        if (parent.isEmpty()) {
            return path;
        }
        String resolved = directory(parent, links, dirs);
        if (resolved == null) {
            // dpkg fails on ELOOP too; taken as "no directory" the entry landed at the root under its bare name
            throw new ImageException(label + ": /" + path + " lies under /" + parent + ", which goes through more than " + Rootfs.MAX_LINKS
                    + " symlinks (a loop); refusing the package");
        }
        return (resolved.isEmpty() ? "" : resolved + "/") + Rootfs.name(path);
    }

    /**
     * A directory resolved through every symlink, null for a loop, remembered per directory and built on
     * its resolved parent: each of a package's files resolved its whole directory again, so 10,000 files
     * under a chain of 39 links with long targets took 25 s (files times the chain's length).
     */
    private static String directory(String dir, Rootfs links, Map<String, String> dirs) {
        if (dir.isEmpty()) {
            return "";
        }
        if (dirs.containsKey(dir)) {
            return dirs.get(dir);
        }
        String base = directory(Rootfs.parent(dir), links, dirs);
        // the base has no symlink left in it, so resolving its child walks only what the child itself adds
        String resolved = base == null ? null : links.canonical((base.isEmpty() ? "" : base + "/") + Rootfs.name(dir), true);
        dirs.put(dir, resolved);
        return resolved;
    }

    static String octal(int mode) {
        return String.format("%04o", mode);
    }
}
