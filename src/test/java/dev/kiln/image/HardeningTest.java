package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.catalog.Stack;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HardeningTest {

    private static final long T = 1_700_000_000L;

    @Test
    void licencesSurviveDroppingTheDocumentationWhateverTheDropPathCovers() {
        StagedPackage pkg = pkg("foo",
                dir("usr"), dir("usr/share"), dir("usr/share/doc"), dir("usr/share/doc/foo"),
                file("usr/share/doc/foo/copyright", 0644, "Format: x\nLicense: MIT\n"),
                file("usr/share/doc/foo/changelog.Debian.gz", 0644, "zz"),
                dir("usr/share/doc/foo/examples"), file("usr/share/doc/foo/examples/copyright", 0644, "not a licence"),
                Item.symlink("usr/share/doc/foo-data", "foo", T),
                dir("usr/share/man"), file("usr/share/man/foo.1.gz", 0644, "zz"));
        for (List<String> drop : List.of(List.of("/usr/share/doc", "/usr/share/man"), List.of("/usr/share"), List.of("/usr/share/doc/foo", "/usr/share/man"))) {
            Hardening hardening = new Hardening(stack(drop, false, List.of()), Map.of());
            assertThat(paths(hardening.apply(pkg, new Rootfs()))).as("dropPaths %s", drop)
                    .containsExactly("usr", "usr/share", "usr/share/doc", "usr/share/doc/foo", "usr/share/doc/foo/copyright",
                            "usr/share/doc/foo-data");
        }
    }

    @Test
    void aPackageTheLockTakesOnlyInPartKeepsThatPartAndItsLicenceAndReportsTheRest() {
        StagedPackage libcBin = pkg("libc-bin",
                dir("etc"), file("etc/ld.so.conf", 0644, "include /etc/ld.so.conf.d/*.conf\n"),
                dir("usr"), dir("usr/sbin"), file("usr/sbin/ldconfig", 0755, "\177ELF"),
                dir("usr/lib"), dir("usr/lib/locale"), dir("usr/lib/locale/C.utf8"),
                file("usr/lib/locale/C.utf8/LC_CTYPE", 0644, "ctype"), dir("usr/lib/locale/C.utf8/LC_MESSAGES"),
                file("usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES", 0644, "m"),
                dir("usr/share"), dir("usr/share/doc"), dir("usr/share/doc/libc-bin"),
                file("usr/share/doc/libc-bin/copyright", 0644, "glibc"), file("usr/share/doc/libc-bin/changelog.gz", 0644, "z"));
        Hardening hardening = new Hardening(stack(List.of(), false, List.of()), Map.of("libc-bin", List.of("/usr/lib/locale/C.utf8")));
        assertThat(paths(hardening.apply(libcBin, new Rootfs()))).containsExactly("usr", "usr/lib", "usr/lib/locale",
                "usr/lib/locale/C.utf8", "usr/lib/locale/C.utf8/LC_CTYPE", "usr/lib/locale/C.utf8/LC_MESSAGES",
                "usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES", "usr/share", "usr/share/doc", "usr/share/doc/libc-bin",
                "usr/share/doc/libc-bin/copyright");
        assertThat(report(hardening).trimmed()).containsExactly(
                "/etc/ld.so.conf (from libc-bin, of which the image keeps only /usr/lib/locale/C.utf8)",
                "/usr/sbin/ldconfig (from libc-bin, of which the image keeps only /usr/lib/locale/C.utf8)",
                "/usr/share/doc/libc-bin/changelog.gz (from libc-bin, of which the image keeps only /usr/lib/locale/C.utf8)");
    }

    @Test
    void shellScriptsGoWhenNoShellInTheImageCanRunThemAndStayWhenOneCan() {
        StagedPackage scripts = pkg("tools",
                file("usr/sbin/update-ca-certificates", 0755, "#!/bin/sh\nset -e\n"),
                file("etc/update-motd.d/10-uname", 0755, "#!/bin/sh\nuname -snrvm\n"),
                file("usr/sbin/update-java-alternatives", 0755, "#!/bin/bash\n"),
                file("etc/ca-certificates/update.d/jks-keystore", 0755, "#! /bin/sh -e\n"),
                file("usr/bin/with-env", 0755, "#!/usr/bin/env bash\n"),
                file("usr/bin/py-tool", 0755, "#!/usr/bin/python3\n"),
                file("etc/profile.d/snippet.sh", 0644, "#!/bin/sh\nexport A=1\n"),
                file("usr/bin/entry", 0755, "#!/bin/sh\nexec true\n"),
                file("usr/bin/elf", 0755, "\177ELF\2\1\1"));
        StagedPackage dash = pkg("dash", file("usr/bin/dash", 0755, "\177ELF\2\1\1"), Item.symlink("bin/sh", "/usr/bin/dash", T),
                file("usr/bin/bash", 0755, "\177ELF\2\1\1"), Item.symlink("bin/bash", "/usr/bin/bash", T));

        Hardening noShell = new Hardening(stack(List.of(), true, List.of("/usr/bin/entry")), Map.of());
        Map<String, List<Item>> settled = settle(noShell, scripts, dash);
        assertThat(paths(settled.get("tools"))).containsExactly("usr/bin/py-tool", "etc/profile.d/snippet.sh", "usr/bin/entry", "usr/bin/elf");
        assertThat(report(noShell).removed()).containsExactly(
                "/usr/bin/dash (shell, from dash)", "/bin/sh (shell, from dash)", "/usr/bin/bash (shell, from dash)",
                "/bin/bash (shell, from dash)",
                "/usr/sbin/update-ca-certificates (script for /bin/sh, which the image does not have; from tools)",
                "/etc/update-motd.d/10-uname (script for /bin/sh, which the image does not have; from tools)",
                "/usr/sbin/update-java-alternatives (script for /bin/bash, which the image does not have; from tools)",
                "/etc/ca-certificates/update.d/jks-keystore (script for /bin/sh, which the image does not have; from tools)",
                "/usr/bin/with-env (script for /usr/bin/env bash, which the image does not have; from tools)");

        Hardening withShell = new Hardening(stack(List.of(), false, List.of()), Map.of());
        Map<String, List<Item>> kept = settle(withShell, scripts, pkg("env", file("usr/bin/env", 0755, "\177ELF\2\1\1")), dash);
        assertThat(paths(kept.get("tools"))).hasSize(9);
        assertThat(report(withShell).removed()).isEmpty();
    }

    @Test
    void linksLeftPointingAtWhatKilnLeftOutGoAndOtherLinksStay() {
        StagedPackage jre = pkg("jre",
                dir("usr/lib/jvm/jre"), Item.symlink("usr/lib/jvm/jre/docs", "../../../share/doc/jre/html", T),
                Item.symlink("usr/lib/jvm/jre/legal", "../../../share/doc/jre", T),
                Item.symlink("usr/lib/jvm/jre/man", "/usr/share/man/jre", T),
                Item.symlink("usr/bin/man-link", "/usr/lib/jvm/jre/man", T),
                Item.symlink("usr/bin/update-helper", "/usr/sbin/update-jre", T),
                Item.symlink("usr/lib/jvm/jre/lib/security/cacerts", "/etc/ssl/certs/java/cacerts", T),
                file("usr/sbin/update-jre", 0755, "#!/bin/sh\n"),
                dir("usr/share/doc/jre"), file("usr/share/doc/jre/copyright", 0644, "GPL-2 with Classpath exception"),
                dir("usr/share/doc/jre/html"), file("usr/share/doc/jre/html/index.html", 0644, "<html>"),
                dir("usr/share/man/jre"), file("usr/share/man/jre/java.1.gz", 0644, "z"));
        // a link to what no package has (Kiln writes /etc/localtime later) stays, even when Kiln left out an /etc of another package
        StagedPackage tz = pkg("tz", Item.symlink("usr/share/zoneinfo/localtime", "/etc/localtime", T));
        StagedPackage trimmed = pkg("trimmed", dir("etc"), file("etc/trimmed.conf", 0644, "x"), dir("usr/lib/kept"));
        Hardening hardening = new Hardening(stack(List.of("/usr/share/doc", "/usr/share/man"), false, List.of()),
                Map.of("trimmed", List.of("/usr/lib/kept")));
        Map<String, List<Item>> settled = settle(hardening, jre, tz, trimmed);
        assertThat(paths(settled.get("tz"))).containsExactly("usr/share/zoneinfo/localtime");
        assertThat(paths(settled.get("jre"))).containsExactly("usr/lib/jvm/jre", "usr/lib/jvm/jre/legal",
                "usr/lib/jvm/jre/lib/security/cacerts", "usr/share/doc/jre", "usr/share/doc/jre/copyright");
        assertThat(report(hardening).removed()).containsExactlyInAnyOrder(
                "/usr/sbin/update-jre (script for /bin/sh, which the image does not have; from jre)",
                "/usr/lib/jvm/jre/docs (link to /usr/share/doc/jre/html, which hardening.dropPaths leaves out (/usr/share/doc); from jre)",
                "/usr/lib/jvm/jre/man (link to /usr/share/man/jre, which hardening.dropPaths leaves out (/usr/share/man); from jre)",
                "/usr/bin/update-helper (link to /usr/sbin/update-jre, which Kiln left out; from jre)",
                "/usr/bin/man-link (link to /usr/share/man/jre, which hardening.dropPaths leaves out (/usr/share/man); from jre)");
    }

    @Test
    void aPathUnderASymlinkLoopIsRefusedNotMovedToTheRoot() {
        // the loop's directory resolved to "nothing", so /a/x/etc became /etc: a package replacing the image's /etc
        StagedPackage looping = pkg("evil", Item.symlink("a", "b", T), Item.symlink("b", "a", T), Item.symlink("a/x/etc", "/tmp/mine", T));
        Hardening hardening = new Hardening(stack(List.of(), false, List.of()), Map.of());
        assertThatThrownBy(() -> settle(hardening, looping)).isInstanceOf(ImageException.class)
                .hasMessage("evil 1.0: /a/x/etc lies under /a/x, which goes through more than 40 symlinks (a loop); refusing the package");
    }

    @Test
    void manyFilesUnderAChainOfLongLinksResolveInLinearTime() {
        // 39 links, each a 3 kB detour to the next: every file resolved the chain again (10,000 files took 25 s)
        List<Item> items = new ArrayList<>();
        for (int i = 0; i < 39; i++) {
            items.add(Item.symlink("s" + i, "x/../".repeat(600) + (i < 38 ? "s" + (i + 1) : "usr/share/target"), T));
        }
        items.add(dir("usr/share/target"));
        for (int i = 0; i < 20_000; i++) {
            items.add(file("s0/d" + (i % 100) + "/f" + i, 0644, ""));
        }
        Hardening hardening = new Hardening(stack(List.of(), false, List.of()), Map.of());
        long started = System.nanoTime();
        List<Item> kept = settle(hardening, pkg("links", items.toArray(Item[]::new))).get("links");
        assertThat(System.nanoTime() - started).as("nanoseconds").isLessThan(10_000_000_000L);
        assertThat(kept).extracting(Item::path).contains("usr/share/target/d7/f19907", "usr/share/target/d99/f99");
    }

    @Test
    void aHardLinkToARemovedShellGoesWithIt() {
        // kept, it was either a dangling link in the layer or, made a file, the shell under another name
        StagedPackage bash = pkg("bash", file("usr/bin/bash", 0755, "\177ELF\2\1\1"),
                new Item("usr/lib/bash/not-a-shell", Item.Type.HARDLINK, 0755, 0, 0, T, "usr/bin/bash", null),
                file("usr/bin/ok", 0755, "\177ELF\2\1\1"), new Item("usr/bin/ok2", Item.Type.HARDLINK, 0755, 0, 0, T, "usr/bin/ok", null));
        Hardening noShell = new Hardening(stack(List.of(), true, List.of()), Map.of());
        assertThat(paths(settle(noShell, bash).get("bash"))).containsExactly("usr/bin/ok", "usr/bin/ok2");
        assertThat(report(noShell).removed()).containsExactly("/usr/bin/bash (shell, from bash)",
                "/usr/lib/bash/not-a-shell (hard link to the removed /usr/bin/bash, from bash)");
    }

    @Test
    void aPackageMayNotShipWhatKilnWritesNorReplaceItsDirectories() {
        Hardening hardening = new Hardening(stack(List.of(), false, List.of()), Map.of());
        // a higher layer's status.d/openssl was what scanners read for openssl: a fixed version claimed, its CVEs hidden
        assertThatThrownBy(() -> settle(hardening, pkg("evil", dir("var/lib/dpkg/status.d"),
                file("var/lib/dpkg/status.d/openssl", 0644, "Package: openssl\nVersion: 9.9\n"))))
                .hasMessage("evil 1.0: /var/lib/dpkg/status.d/openssl is a file Kiln writes itself (the user database, dpkg's status for"
                        + " scanners); a package may not ship it; refusing the package");
        assertThatThrownBy(() -> settle(hardening, pkg("evil", file("etc/passwd", 0644, "root::0:0:root:/root:/bin/sh\n"))))
                .hasMessageStartingWith("evil 1.0: /etc/passwd is a file Kiln writes itself");
        assertThatThrownBy(() -> settle(hardening, pkg("evil", Item.symlink("var/lib/dpkg", "/dev/null", T))))
                .hasMessageStartingWith("evil 1.0: /var/lib/dpkg is a directory of the files Kiln writes itself");
        // dpkg's own directories and a file beside status.d are a package's to ship
        assertThat(paths(settle(hardening, pkg("dpkg", dir("var/lib/dpkg"), dir("var/lib/dpkg/status.d"), dir("etc"),
                file("var/lib/dpkg/status", 0644, ""), file("etc/passwd.md", 0644, ""))).get("dpkg")))
                .containsExactly("var/lib/dpkg", "var/lib/dpkg/status.d", "etc", "var/lib/dpkg/status", "etc/passwd.md");
    }

    private static Map<String, List<Item>> settle(Hardening hardening, StagedPackage... packages) {
        Rootfs links = new Rootfs();
        for (StagedPackage p : packages) {
            p.items().stream().filter(i -> i.type() == Item.Type.SYMLINK || i.type() == Item.Type.DIRECTORY).forEach(links::add);
        }
        Map<String, List<Item>> applied = new LinkedHashMap<>();
        for (StagedPackage p : packages) {
            applied.put(p.name(), hardening.apply(p, links));
        }
        return hardening.settle(applied, List.of());
    }

    private static Composition.Report report(Hardening hardening) {
        return hardening.report(new Verifier.Result(List.of(), 0, 0, List.of()), List.of());
    }

    private static List<String> paths(List<Item> items) {
        return items.stream().map(Item::path).toList();
    }

    private static StagedPackage pkg(String name, Item... items) {
        return new StagedPackage(name, "1.0", "0".repeat(64), new DebFile.Control("Package: " + name + "\n", Map.of()), List.of(items));
    }

    private static Item dir(String path) {
        return Item.directory(path, 0755, T);
    }

    private static Item file(String path, int mode, String content) {
        return Item.file(path, mode, T, content.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static Stack stack(List<String> dropPaths, boolean removeShells, List<String> entrypoint) {
        return new Stack("test", "test", "team@example.com", "1", new Stack.Source("amd64", "keys/test.gpg", List.of()), List.of("x"),
                List.of(), new Stack.User("nonroot", 65532, 65532), new Stack.Hardening(true, removeShells, false, new ArrayList<>(dropPaths)),
                Map.of(), entrypoint, List.of(), "/", Map.of(), new Stack.Schedule("0 0 3 * * ?", "UTC"), new Stack.Target("test"),
                "{version}-{yyyymmdd}.{n}", new Stack.Retention(10, 30, 30));
    }
}
