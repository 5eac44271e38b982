package dev.kiln.image;

import dev.kiln.catalog.Stack;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What Kiln does to every package's entries before they reach a layer: directory symlinks resolved
 * (dpkg writes through {@code /lib → usr/lib} too), dropped paths left out, shells and package managers
 * removed when the stack asks, everything owned by root, no group/other write bit (sticky {@code /tmp}
 * and {@code /var/tmp} aside), setuid/setgid stripped. Every change is recorded in the report.
 */
final class Hardening {

    static final Set<String> SHELLS = Set.of("sh", "bash", "rbash", "dash", "zsh", "ksh", "ksh93", "mksh", "pdksh", "csh", "tcsh",
            "fish", "ash", "busybox", "toybox", "yash", "posh");
    private static final Pattern PACKAGE_MANAGERS = Pattern.compile(
            "dpkg(-.*)?|apt(-.*)?|aptitude|pip[0-9.]*|easy_install(-[0-9.]+)?|update-alternatives");
    static final Set<String> BIN_DIRS = Set.of("usr/bin", "usr/sbin", "bin", "sbin", "usr/local/bin", "usr/local/sbin");
    static final Set<String> STICKY_DIRS = Set.of("tmp", "var/tmp");

    private final Stack.Hardening settings;
    private final List<String> dropPaths;
    private final List<String> setuidStripped = new ArrayList<>();
    private final List<String> removed = new ArrayList<>();
    private final List<String> tightened = new ArrayList<>();
    private long droppedFiles;
    private long droppedBytes;

    Hardening(Stack.Hardening settings) {
        this.settings = settings;
        this.dropPaths = settings.dropPaths().stream().map(StagedPackage::normalize).toList();
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
        for (Item original : pkg.items()) {
            Item item = original.withPath(canonical(original.path(), links));
            if (item.type() == Item.Type.HARDLINK) {
                item = item.withLink(canonical(item.link(), links));
            }
            String path = item.path();
            if (dropped(path)) {
                droppedByPath.put(path, item);
                if (item.type() != Item.Type.DIRECTORY) {
                    droppedFiles++;
                    droppedBytes += item.size();
                }
                continue;
            }
            if (item.type() != Item.Type.DIRECTORY && settings.removeShells() && isShell(path)) {
                removed.add("/" + path + " (shell, from " + pkg.name() + ")");
                continue;
            }
            if (item.type() != Item.Type.DIRECTORY && settings.removePackageManagers() && isPackageManager(path)) {
                removed.add("/" + path + " (package manager, from " + pkg.name() + ")");
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
                verified.librariesResolved(), generated, verified.checks());
    }

    private boolean dropped(String path) {
        for (String drop : dropPaths) {
            if (path.equals(drop) || path.startsWith(drop + "/")) {
                // licences stay: /usr/share/doc/PACKAGE/copyright is what compliance and scanners read
                return !(drop.equals("usr/share/doc") || drop.equals("usr/share")) || !isCopyright(path);
            }
        }
        return false;
    }

    /** usr/share/doc, usr/share/doc/PACKAGE and usr/share/doc/PACKAGE/copyright. */
    static boolean isCopyright(String path) {
        String[] parts = path.split("/");
        return path.startsWith("usr/share/doc") && parts.length >= 3 && parts.length <= 5 && parts[2].equals("doc")
                && (parts.length < 5 || parts[4].equals("copyright"));
    }

    private static String canonical(String path, Rootfs links) {
        String parent = Rootfs.parent(path);
        if (parent.isEmpty()) {
            return path;
        }
        String resolved = links.canonical(parent, true);
        return (resolved == null || resolved.isEmpty() ? "" : resolved + "/") + Rootfs.name(path);
    }

    static String octal(int mode) {
        return String.format("%04o", mode);
    }
}
