package dev.kiln.launch;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The jar's start class: runs Kiln from the jar's contents unpacked once into a cache directory, on
 * the JDK's own class loader for plain jars, instead of from the nested jars Spring Boot's loader reads
 * in place. Every class and resource lookup through the nested loader parses URLs and searches nested
 * central directories; a one-shot command loads some 9,000 classes, so that was a quarter of a warm
 * {@code kiln build}. Spring Boot's own answer ({@code -Djarmode=tools extract}, then running the
 * extracted jar) needs a second command and a second path to remember; this keeps {@code java -jar
 * kiln.jar}.
 *
 * <p>The cache is {@code $KILN_APP_CACHE}, else {@code $XDG_CACHE_HOME/kiln/app}, else
 * {@code ~/.cache/kiln/app}: one directory per jar content (a digest of the jar's entry names, sizes
 * and CRCs), written under a temporary name and renamed into place when complete, so a process never
 * sees half of it. A running Kiln holds a shared lock on its directory; another version's directory is
 * removed once it has not been used for a day and nobody holds it. When the cache cannot be written (a
 * read-only home), Kiln runs from the jar as before.
 */
public final class Launcher {

    private static final String MAIN = "dev.kiln.KilnApplication";
    private static final String CLASSES = "BOOT-INF/classes/";
    private static final String LIB = "BOOT-INF/lib/";
    private static final String INDEX = "BOOT-INF/classpath.idx";
    /** Another version's directory used within this time stays: two versions run in turn do not unpack each time. */
    private static final long UNUSED_FOR = java.time.Duration.ofDays(1).toMillis();
    /** Held for the life of the JVM: the directories it runs from are in use. */
    private static final List<FileLock> IN_USE = new java.util.concurrent.CopyOnWriteArrayList<>();

    private Launcher() {
    }

    public static void main(String[] args) throws Throwable {
        ClassLoader loader = Launcher.class.getClassLoader();
        Path jar = runningJar();
        if (jar != null && !"false".equals(System.getenv("KILN_APP_CACHE_ENABLED"))) {
            try {
                ClassLoader cached = unpacked(jar, cacheRoot());
                loader = cached != null ? cached : loader;
            } catch (IOException | UncheckedIOException | SecurityException e) {
                System.err.println("kiln: running from the jar (could not unpack it into a cache: " + e.getMessage() + ")");
            }
        }
        Thread.currentThread().setContextClassLoader(loader);
        Class<?> main = Class.forName(MAIN, true, loader);
        MethodHandles.publicLookup().findStatic(main, "main", MethodType.methodType(void.class, String[].class)).invoke(args);
    }

    /** The jar {@code java -jar} runs: the class path when it is one file; null when run from classes (tests, an IDE). */
    private static Path runningJar() {
        String classPath = System.getProperty("java.class.path", "");
        if (classPath.isEmpty() || classPath.contains(java.io.File.pathSeparator) || !classPath.endsWith(".jar")) {
            return null;
        }
        Path jar = Path.of(classPath).toAbsolutePath();
        return Files.isRegularFile(jar) ? jar : null;
    }

    static Path cacheRoot() {
        String explicit = System.getenv("KILN_APP_CACHE");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("kiln").resolve("app");
    }

    /**
     * A class loader over the jar's contents unpacked under {@code root}, unpacking them first if needed; null for
     * a jar with nothing to unpack: one already extracted ({@code java -Djarmode=tools -jar kiln.jar extract}, the
     * class data sharing recipe), whose manifest's class path names its libraries.
     */
    static ClassLoader unpacked(Path jar, Path root) throws IOException {
        Path dir;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            if (entries(zip).isEmpty()) {
                return null;
            }
            Files.createDirectories(root);
            dir = root.resolve(key(zip));
            if (!Files.isRegularFile(dir.resolve("complete"))) {
                unpack(zip, root, dir);
            }
        }
        try {
            // when it was last used: another version's run removes it only after a day unused
            Files.setLastModifiedTime(dir.resolve("complete"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            // a cache we may read but not write: used as it is
        }
        FileChannel channel = FileChannel.open(dir.resolve("complete"), StandardOpenOption.READ);
        try {
            IN_USE.add(channel.lock(0, Long.MAX_VALUE, true));
        } catch (java.nio.channels.OverlappingFileLockException e) {
            channel.close(); // this JVM holds it already
        }
        removeOthers(root, dir);
        List<URL> urls = new ArrayList<>();
        urls.add(url(dir.resolve("classes.jar")));
        // the order Spring Boot's loader uses (Maven's), which decides between two jars that hold one class
        Path index = dir.resolve("classpath.idx");
        List<String> ordered = Files.isRegularFile(index) ? Files.readAllLines(index).stream()
                .map(String::strip).filter(l -> l.startsWith("- \"" + LIB) && l.endsWith("\""))
                .map(l -> l.substring(3 + LIB.length(), l.length() - 1)).toList() : List.of();
        List<String> rest;
        try (Stream<Path> libs = Files.list(dir.resolve("lib"))) {
            rest = libs.map(l -> l.getFileName().toString()).sorted().filter(l -> !ordered.contains(l)).toList();
        }
        for (String lib : Stream.concat(ordered.stream(), rest.stream()).toList()) {
            Path file = dir.resolve("lib").resolve(lib).normalize();
            if (file.startsWith(dir.resolve("lib")) && Files.isRegularFile(file)) {
                urls.add(url(file));
            }
        }
        return new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }

    /** The jar's content: names, sizes and CRCs of what is unpacked, so a rebuilt jar with other contents gets its own directory. */
    static String key(ZipFile zip) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (ZipEntry entry : entries(zip)) {
            sha.update((entry.getName() + '\0' + entry.getSize() + '\0' + entry.getCrc() + '\n').getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 12);
    }

    private static List<ZipEntry> entries(ZipFile zip) {
        return entries(zip, false);
    }

    /** The entries unpacked, sorted by name; the application classes' directories too when {@code directories}. */
    private static List<ZipEntry> entries(ZipFile zip, boolean directories) {
        List<ZipEntry> entries = new ArrayList<>();
        for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
            ZipEntry entry = e.nextElement();
            if (entry.isDirectory() && directories && entry.getName().startsWith(CLASSES)) {
                entries.add(entry);
            } else if (!entry.isDirectory() && (entry.getName().startsWith(CLASSES) || entry.getName().startsWith(LIB)
                    || entry.getName().equals(INDEX))) {
                entries.add(entry);
            }
        }
        entries.sort(Comparator.comparing(ZipEntry::getName));
        return entries;
    }

    private static void unpack(ZipFile zip, Path root, Path dir) throws IOException {
        Path temp = Files.createTempDirectory(root, "unpacking-");
        try {
            Files.createDirectories(temp.resolve("lib"));
            // the application's classes go into a jar of their own, as they were in the fat jar (with its manifest,
            // so their package keeps its version): a directory on the class path would answer lookups a jar does
            // not, such as Spring binding the relative path "." to the class path's root
            ZipEntry manifestEntry = zip.getEntry("META-INF/MANIFEST.MF");
            java.util.jar.Manifest manifest = null;
            if (manifestEntry != null) {
                try (InputStream in = zip.getInputStream(manifestEntry)) {
                    manifest = new java.util.jar.Manifest(in);
                }
            }
            try (java.util.jar.JarOutputStream classes = manifest == null
                    ? new java.util.jar.JarOutputStream(Files.newOutputStream(temp.resolve("classes.jar")))
                    : new java.util.jar.JarOutputStream(Files.newOutputStream(temp.resolve("classes.jar")), manifest)) {
                // with its directories' entries: Spring and Flyway find resources under a directory through them
                for (ZipEntry entry : entries(zip, true)) {
                    String name = entry.getName();
                    boolean isClass = name.startsWith(CLASSES);
                    if (name.equals(CLASSES) || name.equals(CLASSES + "META-INF/MANIFEST.MF")) {
                        continue;
                    }
                    String relative = name.equals(INDEX) ? "classpath.idx" : isClass ? name.substring(CLASSES.length())
                            : "lib/" + name.substring(LIB.length());
                    Path base = isClass ? temp.resolve("classes") : temp;
                    Path target = base.resolve(relative).normalize();
                    if (!target.startsWith(base) || relative.isEmpty()) {
                        throw new IOException("the jar holds an entry outside its directories: " + name);
                    }
                    if (isClass) {
                        ZipEntry copy = new ZipEntry(relative);
                        copy.setMethod(ZipEntry.STORED);
                        copy.setSize(entry.isDirectory() ? 0 : entry.getSize());
                        copy.setCompressedSize(entry.isDirectory() ? 0 : entry.getSize());
                        copy.setCrc(entry.isDirectory() ? 0 : entry.getCrc());
                        classes.putNextEntry(copy);
                        try (InputStream in = zip.getInputStream(entry)) {
                            in.transferTo(classes);
                        }
                        classes.closeEntry();
                        continue;
                    }
                    try (InputStream in = zip.getInputStream(entry)) {
                        Files.copy(in, target);
                    }
                }
            }
            Files.writeString(temp.resolve("complete"), "");
            try {
                Files.move(temp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
                // another process unpacked the same jar first: use theirs
                if (!Files.isRegularFile(dir.resolve("complete"))) {
                    throw e;
                }
            }
        } finally {
            if (Files.exists(temp)) {
                delete(temp);
            }
        }
    }

    /** Other versions' directories unused for a day that no running Kiln holds, and partial ones abandoned for an hour. */
    private static void removeOthers(Path root, Path mine) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path other : dirs) {
                if (other.equals(mine) || !Files.isDirectory(other)) {
                    continue;
                }
                Path marker = other.resolve("complete");
                if (Files.isRegularFile(marker) && Files.getLastModifiedTime(marker).toMillis() > System.currentTimeMillis() - UNUSED_FOR) {
                    continue;
                }
                if (!Files.isRegularFile(marker)) {
                    // being unpacked now, or abandoned: leave it for an hour
                    if (Files.getLastModifiedTime(other).toMillis() < System.currentTimeMillis() - 3_600_000L) {
                        delete(other);
                    }
                    continue;
                }
                try (FileChannel channel = FileChannel.open(marker, StandardOpenOption.READ, StandardOpenOption.WRITE);
                     FileLock lock = channel.tryLock()) {
                    if (lock != null) {
                        delete(other);
                    }
                } catch (java.nio.channels.OverlappingFileLockException e) {
                    // this JVM runs from it too
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // tidying only
        }
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static URL url(Path path) {
        try {
            return path.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalStateException(e);
        }
    }
}
