package dev.kiln.debian;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code .deb} files stored by SHA-256 under the data directory. A file is only ever stored after its
 * hash and size matched the lock, so a present entry is a verified one.
 */
public final class PackageCache {

    private final DebianArchive archive;
    private final Path directory;

    public PackageCache(DebianArchive archive, Path cacheDir) {
        this.archive = archive;
        this.directory = cacheDir.resolve("packages");
    }

    /** The verified {@code .deb} of a locked package, downloaded when not cached yet. */
    public Path fetch(Lock.Package pkg) {
        Path target = path(pkg);
        if (!Files.exists(target)) {
            archive.download(pkg.url(), pkg.size(), pkg.sha256(), target, pkg.name() + " " + pkg.version());
        }
        return target;
    }

    public boolean contains(Lock.Package pkg) {
        return Files.exists(path(pkg));
    }

    private Path path(Lock.Package pkg) {
        if (!pkg.sha256().matches("[0-9a-f]{64}")) {
            throw new DebianException(pkg.name() + " " + pkg.version() + ": '" + pkg.sha256() + "' is not a SHA-256");
        }
        return directory.resolve(pkg.sha256().substring(0, 2)).resolve(pkg.sha256() + ".deb");
    }
}
