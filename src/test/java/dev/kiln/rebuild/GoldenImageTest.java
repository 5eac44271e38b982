package dev.kiln.rebuild;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import dev.kiln.image.Composer;
import dev.kiln.image.Composition;
import dev.kiln.image.LayerCache;
import dev.kiln.publish.ImageAssembler;
import dev.kiln.publish.Manifest;
import dev.kiln.testing.DebWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image model's guarantees on small real packages written byte for byte the same everywhere
 * ({@link DebWriter}): an exact image digest (as apko's golden test asserts), the same in a second JVM;
 * a layer's digest depends on its package alone, not on the build date, the other packages or the stack.
 */
class GoldenImageTest {

    /** The digest of {@code alpha} below; it changes only when Kiln's image format does (and then on purpose). */
    static final String GOLDEN = "sha256:c959a721a6c9a34d1f01f68278fb910cf330434af0249065ca31cd2f9f07c13e";
    static final long T1 = 1_700_000_000L;
    static final long T2 = 1_750_000_000L;

    @TempDir
    Path tmp;

    @Test
    void theImageDigestIsExactlyTheGoldenOneInThisJvmAndInAnother() throws Exception {
        Built here = build(tmp.resolve("here"), "alpha", "1.0", T1, null);
        assertThat(here.manifest().digest()).isEqualTo(GOLDEN);
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), GoldenImageTest.class.getName(), tmp.resolve("there").toString())
                .redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes()).strip();
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(out).as("the second JVM's output").endsWith(GOLDEN + " " + String.join(",", here.layers()));
    }

    @Test
    void anUpdateBuiltInAnotherJvmOnAnotherDateChangesOnlyThePackagesLayer() throws Exception {
        Built here = build(tmp.resolve("here"), "alpha", "1.0", T1, Instant.ofEpochSecond(T1 + 10));
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), GoldenImageTest.class.getName(), tmp.resolve("there").toString(), "1.1")
                .redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes()).strip();
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String[] lines = out.split("\n");
        List<String> there = List.of(lines[lines.length - 1].split(" ")[1].split(","));
        List<String> changed = new ArrayList<>(there);
        changed.removeAll(here.layers());
        assertThat(there).hasSameSizeAs(here.layers());
        assertThat(changed).as("layers new in the other JVM's build of libfoo 1.1").hasSize(1);
        assertThat(changed.get(0)).isNotEqualTo(here.layerOf().get("libfoo"));
        assertThat(here.layers()).contains(there.stream().filter(d -> !changed.contains(d)).toArray(String[]::new));
    }

    @Test
    void aPackageUpdateChangesExactlyItsOwnLayerWhateverTheBuildDate() throws Exception {
        Built before = build(tmp.resolve("a"), "alpha", "1.0", T1, Instant.ofEpochSecond(T1 + 10));
        Built after = build(tmp.resolve("b"), "alpha", "1.1", T2, Instant.ofEpochSecond(T2 + 99_999));
        List<String> changed = new ArrayList<>(after.layers());
        changed.removeAll(before.layers());
        assertThat(changed).as("new layer digests").hasSize(1);
        assertThat(after.layerOf().get("libfoo")).isEqualTo(changed.get(0));
        assertThat(after.layers()).hasSameSizeAs(before.layers());
        // another build date, same packages: the same layers, only the config (created) differs
        Built later = build(tmp.resolve("c"), "alpha", "1.1", T2, Instant.ofEpochSecond(T2 + 5_000_000));
        assertThat(later.layers()).isEqualTo(after.layers());
        assertThat(later.manifest().digest()).isNotEqualTo(after.manifest().digest());
    }

    @Test
    void aJvmUpdateChangesItsOwnLayerAndNotTheLinksKilnDerivesFromIt() throws Exception {
        Built before = build(tmp.resolve("a"), "alpha", "1.0", T1, "21.0.1", T1, null);
        Built after = build(tmp.resolve("b"), "alpha", "1.0", T1, "21.0.2", T2, null);
        assertThat(before.layerOf()).containsKey("kiln-derived");
        List<String> changed = new ArrayList<>(after.layers());
        changed.removeAll(before.layers());
        assertThat(changed).containsExactly(after.layerOf().get("jre"));
        assertThat(after.layerOf().get("kiln-derived")).isEqualTo(before.layerOf().get("kiln-derived"));
    }

    @Test
    void theSamePackageIsTheSameLayerInEveryStack() throws Exception {
        Built alpha = build(tmp.resolve("a"), "alpha", "1.0", T1, null);
        Built beta = build(tmp.resolve("b"), "beta", "1.0", T1, null);
        assertThat(beta.layerOf().get("libfoo")).isEqualTo(alpha.layerOf().get("libfoo"));
        assertThat(beta.layerOf().get("tiny-base")).isEqualTo(alpha.layerOf().get("tiny-base"));
        assertThat(beta.layerOf().get("app-b")).isNotIn(alpha.layers());
    }

    @Test
    void aRebuildTakesUnchangedLayersFromTheCacheAndWritesOnlyTheChangedOne() throws Exception {
        Path dir = tmp.resolve("cache-run");
        build(dir, "alpha", "1.0", T1, null);
        Built again = build(dir, "alpha", "1.1", T2, null);
        assertThat(again.composition().layers()).filteredOn(l -> !l.cached()).extracting(Composition.Layer::name)
                .containsExactly("libfoo");
    }

    record Built(Manifest manifest, Composition composition, List<String> layers, Map<String, String> layerOf) {
    }

    /** Builds {@code stack} with libfoo at {@code version} (files dated {@code libfooTime}) into a fresh work directory under {@code dir}. */
    static Built build(Path dir, String stackName, String version, long libfooTime, Instant sourceDate) throws IOException {
        return build(dir, stackName, version, libfooTime, "21.0.1", T1, sourceDate);
    }

    /** As above, with the JVM package at {@code jreVersion} dated {@code jreTime}. */
    static Built build(Path dir, String stackName, String version, long libfooTime, String jreVersion, long jreTime, Instant sourceDate)
            throws IOException {
        Path catalogDir = Files.createDirectories(dir.resolve("catalog"));
        Files.createDirectories(catalogDir.resolve("keys"));
        Files.copy(Path.of("catalog/keys/debian-trixie.gpg"), catalogDir.resolve("keys/test.gpg"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING); // the catalog checks it is a keyring
        for (String name : List.of("alpha", "beta")) {
            Files.writeString(catalogDir.resolve(name + ".yaml"), """
                    description: golden %s
                    owner: team@example.com
                    version: "1"
                    source:
                      architecture: amd64
                      keyring: keys/test.gpg
                      archives:
                        - url: http://127.0.0.1:9/debian
                          suites: [stable]
                          components: [main]
                    packages: [tiny-base, libfoo, jre, app-%s]
                    hardening:
                      removeShells: true
                      dropPaths: [/usr/share/doc]
                    entrypoint: [/usr/bin/app]
                    """.formatted(name, name.substring(0, 1)));
        }
        Catalog catalog = Catalog.load(catalogDir);
        Stack stack = catalog.stack(stackName).orElseThrow(() -> new IllegalStateException(catalog.problems(stackName).toString()));
        Path debs = dir.resolve("debs");
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("app-" + stackName.charAt(0), DebWriter.of("app-" + stackName.charAt(0), "1.0", T1)
                .file("usr/bin/app", "0755", "#!/usr/bin/app-" + stackName + "\n")
                .file("usr/bin/app-" + stackName, "4755", "app " + stackName + "\n").write(debs));
        files.put("libfoo", DebWriter.of("libfoo", version, libfooTime).control("Source: foo (" + version + ")")
                .file("usr/lib/libfoo.so.1", "0644", "libfoo " + version + "\n")
                .file("usr/share/doc/libfoo/copyright", "0644", "License: MIT\n")
                .file("usr/share/doc/libfoo/changelog", "0644", "changes " + version + "\n").write(debs));
        files.put("jre", DebWriter.of("jre", jreVersion, jreTime)
                .file("usr/lib/jvm/java-21/bin/java", "0755", "java " + jreVersion + "\n")
                .file("usr/lib/jvm/java-21/bin/keytool", "0755", "keytool " + jreVersion + "\n").write(debs));
        files.put("tiny-base", DebWriter.of("tiny-base", "13.1", T1).file("etc/os-release", "0644", "ID=golden\n")
                .file("usr/bin/sh", "0755", "not really a shell\n").symlink("lib", "usr/lib").write(debs));
        List<Lock.Package> packages = new ArrayList<>();
        files.forEach((name, deb) -> {
            try {
                packages.add(new Lock.Package(name, name.equals("libfoo") ? version : name.equals("tiny-base") ? "13.1"
                        : name.equals("jre") ? jreVersion : "1.0", "amd64",
                        "stable", "http://127.0.0.1:9/debian/" + deb.getFileName(), Files.size(deb), DebWriter.sha256(deb), null));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        packages.sort(java.util.Comparator.comparing(Lock.Package::name));
        Lock lock = new Lock(Lock.VERSION, stackName, Catalog.digest(stack), "amd64", List.of(), packages, List.of());
        Composer composer = new Composer(100, 1 << 20, new LayerCache(dir.resolve("layers"), Duration.ofDays(30), Clock.systemUTC(), 1),
                new dev.kiln.image.UnpackCache(dir.resolve("unpacked"), Duration.ofDays(30), Clock.systemUTC(), true));
        Composition composition = composer.compose(stack, lock, files, sourceDate);
        Manifest manifest = ImageAssembler.assemble(composition, StackBuilder.config(catalog, stack, lock, composition.created()));
        Map<String, String> layerOf = new LinkedHashMap<>();
        composition.layers().forEach(l -> layerOf.put(l.packages().isEmpty() ? l.name() : String.join("+", l.packages()), l.digest()));
        return new Built(manifest, composition, composition.layers().stream().map(Composition.Layer::digest).toList(), layerOf);
    }

    /**
     * The second JVM: builds {@code alpha} into the directory given and prints its digest and layers;
     * with a second argument, with libfoo at that version, its files dated {@code T2}, on a later build date.
     */
    public static void main(String[] args) throws Exception {
        Built built = args.length > 1 ? build(Path.of(args[0]), "alpha", args[1], T2, Instant.ofEpochSecond(T2 + 86_400 * 30))
                : build(Path.of(args[0]), "alpha", "1.0", T1, null);
        System.out.println(built.manifest().digest() + " " + String.join(",", built.layers()));
    }
}
