package dev.kiln.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CatalogTest {

    @TempDir
    Path dir;

    /** A valid stack of one package (CatalogCacheTest starts from it too). */
    static final String VALID = """
            description: Test stack
            owner: team@example.com
            version: "1"
            source:
              architecture: amd64
              keyring: keys/test.gpg
              archives:
                - url: http://127.0.0.1:8080/debian
                  suites: [stable]
                  components: [main]
            packages: [tzdata]
            """;

    @BeforeEach
    void keyring() throws IOException {
        Files.createDirectories(dir.resolve("keys"));
        Files.copy(Path.of("catalog/keys/debian-trixie.gpg"), dir.resolve("keys/test.gpg"));
    }

    private Path write(String name, String yaml) throws IOException {
        return Files.writeString(dir.resolve(name), yaml);
    }

    @Test
    void theExampleCatalogIsValid() {
        Catalog catalog = Catalog.load(Path.of("catalog"));
        assertThat(catalog.problems()).isEmpty();
        assertThat(catalog.stacks()).extracting(Stack::name).containsExactly("cc", "java", "postgresql", "python3", "registry", "static");
    }

    @Test
    void appliesDefaults() throws IOException {
        write("base.yaml", VALID);
        Stack stack = Catalog.load(dir).stack("base").orElseThrow();
        assertThat(stack.user()).isEqualTo(new Stack.User("nonroot", 65532, 65532));
        assertThat(stack.hardening()).isEqualTo(new Stack.Hardening(true, false, false, List.of()));
        assertThat(stack.tag()).isEqualTo("{version}-{yyyymmdd}.{n}");
        assertThat(stack.target().repository()).isEqualTo("base");
        assertThat(stack.schedule()).isEqualTo(new Stack.Schedule("0 0 3 * * ?", "UTC"));
        assertThat(stack.retention()).isEqualTo(new Stack.Retention(10, 30, 30));
        assertThat(stack.workdir()).isEqualTo("/");
    }

    @Test
    void collectsEveryProblemWithFileAndPath() throws IOException {
        Path file = write("bad.yaml", """
                description: Bad stack
                owner: team@example.com
                version: "1"
                source:
                  architecture: amd65
                  keyring: keys/missing.gpg
                  archives:
                    - url: ftp://example.org/debian
                      suites: []
                      components: [main]
                packages: [tzdata, "Not A Package", tzdata]
                excludes: [tzdata]
                user: {name: root, uid: 0}
                hardening: {stripSetuid: maybe, dropPaths: [usr/share/doc]}
                entrypoint: [java]
                schedule: {cron: "every day", timeZone: Mars/Olympus}
                target: {repository: Golden/Java}
                tag: "{version}-{date}"
                retention: {keepLast: 0}
                colour: blue
                """);
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.stack("bad")).isEmpty();
        assertThat(catalog.problems()).extracting(Problem::toString).containsExactlyInAnyOrder(
                file + ": colour: unknown key; expected one of description, owner, version, source, packages, excludes, excludeLibraries, user, hardening, env, entrypoint, cmd, workdir, labels, schedule, target, tag, retention (line 20)",
                file + ": source.architecture: unknown Debian architecture 'amd65'; one of [amd64, arm64, armel, armhf, i386, ppc64el, riscv64, s390x] (line 5)",
                file + ": source.keyring: no such file " + dir.resolve("keys/missing.gpg") + " (line 6)",
                file + ": source.archives[0].url: must be an http:// or https:// URL without user, query, fragment, '.' or '..', found 'ftp://example.org/debian' (line 8)",
                file + ": source.archives[0].suites: must not be empty (line 9)",
                file + ": packages[1]: 'Not A Package' is not a package name, optionally with a version relation such as 'tzdata (>= 2025a)'",
                file + ": packages[2]: 'tzdata' is listed twice",
                file + ": excludes[0]: 'tzdata' is also in packages; a stack cannot both want and exclude it",
                file + ": user.name: 'root' is already a user in every image (/etc/passwd: root:x:0:0:root:/root:/usr/sbin/nologin); images run as a non-root user; choose another name (line 13)",
                file + ": user.uid: 0 is already the uid of 'root' in every image (/etc/passwd: root:x:0:0:root:/root:/usr/sbin/nologin); images run as a non-root user; choose another (line 13)",
                file + ": hardening.stripSetuid: must be true or false, found 'maybe' (line 14)",
                file + ": hardening.dropPaths[0]: must be a normalized absolute path, found 'usr/share/doc'",
                file + ": entrypoint[0]: the program must be an absolute path (there is no shell to search PATH), found 'java'",
                file + ": schedule.cron: 'every day' is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week): Illegal characters for this position: 'EVE' (line 16)",
                file + ": schedule.timeZone: unknown time zone 'Mars/Olympus' (line 16)",
                file + ": target.repository: 'Golden/Java' is not an OCI repository name (lower-case path components such as golden/java) (line 17)",
                file + ": tag: unknown placeholder {date}; use {version}, {yyyymmdd} and {n} (line 18)",
                file + ": tag: must contain {n}, so that a second build on the same day gets a new tag (tags are immutable) (line 18)",
                file + ": retention.keepLast: must be between 1 and 100000, found 0 (line 19)");
    }

    @Test
    void aUserCollidingWithAnEntryEveryImageHasIsRefusedNamingThatEntry() throws IOException {
        Path nobody = write("nobody.yaml", VALID + "user: {name: nobody, uid: 65534}\n");
        Path nogroup = write("nogroup.yaml", VALID + "user: {name: nogroup, uid: 1000, gid: 65534}\n");
        Path uid = write("uid.yaml", VALID + "user:\n  name: app\n  uid: 65534\n  gid: 1000\n");
        Path gid = write("gid.yaml", VALID + "user: {name: app, uid: 1000, gid: 65534}\n");
        write("fine.yaml", VALID + "user: {name: app, uid: 1000}\n");
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.stacks()).extracting(Stack::name).containsExactly("fine");
        assertThat(catalog.problems()).extracting(Problem::toString).containsExactly(
                gid + ": user.gid: 65534 is already the gid of group 'nogroup' in every image (/etc/group: nogroup:x:65534:); choose another (line 12)",
                nobody + ": user.name: 'nobody' is already a user in every image (/etc/passwd: nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin); choose another name (line 12)",
                nobody + ": user.uid: 65534 is already the uid of 'nobody' in every image (/etc/passwd: nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin); choose another (line 12)",
                nogroup + ": user.name: 'nogroup' is already a group in every image (/etc/group: nogroup:x:65534:) and the user's group takes its name; choose another name (line 12)",
                nogroup + ": user.gid: 65534 is already the gid of group 'nogroup' in every image (/etc/group: nogroup:x:65534:); choose another (line 12)",
                uid + ": user.uid: 65534 is already the uid of 'nobody' in every image (/etc/passwd: nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin); choose another (line 14)");
    }

    @Test
    void aUidCollisionIsNamedOnceWhenTheGidOnlyDefaultsToIt() throws IOException {
        Path file = write("app.yaml", VALID + "user: {name: app, uid: 65534}\n");
        assertThat(Catalog.load(dir).problems()).extracting(Problem::toString).containsExactly(
                file + ": user.uid: 65534 is already the uid of 'nobody' in every image (/etc/passwd: nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin); choose another (line 12)");
    }

    @Test
    void oneBrokenStackNeverStopsTheOthers() throws IOException {
        write("good.yaml", VALID);
        write("broken.yaml", "description: [unclosed\n");
        write("empty.yaml", "");
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.stacks()).extracting(Stack::name).containsExactly("good");
        assertThat(catalog.names()).containsExactly("broken", "empty", "good");
        assertThat(catalog.problems("broken")).singleElement().asString().startsWith(dir.resolve("broken.yaml") + ": not valid YAML at line 2");
        assertThat(catalog.problems("empty")).singleElement().asString().isEqualTo(dir.resolve("empty.yaml") + ": the file is empty");
    }

    @Test
    void missingRequiredFieldsAreNamed() throws IOException {
        Path file = write("thin.yaml", "description: only this\n");
        assertThat(Catalog.load(dir).problems()).extracting(Problem::toString).containsExactly(
                file + ": owner: is required",
                file + ": version: is required",
                file + ": source: is required: the archives, suites, components, architecture and keyring to resolve packages from",
                file + ": packages: is required: at least one package");
    }

    @Test
    void theDigestIgnoresCommentsOrderAndSpelledOutDefaultsButNotMeaning() throws IOException {
        String pinned = VALID + "target: {repository: shared}\n";
        write("a.yaml", pinned);
        write("b.yaml", "# a comment\nuser: {name: nonroot, uid: 65532, gid: 65532}\n" + pinned.replace("packages: [tzdata]\n", "") + "packages:\n  - tzdata\n");
        write("c.yaml", pinned.replace("[tzdata]", "[tzdata, netbase]"));
        Catalog catalog = Catalog.load(dir);
        String a = Catalog.digest(catalog.stack("a").orElseThrow());
        String b = Catalog.digest(catalog.stack("b").orElseThrow());
        String c = Catalog.digest(catalog.stack("c").orElseThrow());
        // the name is part of the definition, so compare b against a renamed copy of a
        assertThat(a).startsWith("sha256:").hasSize(71);
        assertThat(Catalog.digest(renamed(catalog.stack("a").orElseThrow(), "b"))).isEqualTo(b);
        assertThat(Catalog.digest(renamed(catalog.stack("c").orElseThrow(), "a"))).isNotEqualTo(a);
        assertThat(c).isNotEqualTo(a);
    }

    private static Stack renamed(Stack s, String name) {
        return new Stack(name, s.description(), s.owner(), s.version(), s.source(), s.packages(), s.excludes(), s.user(),
                s.hardening(), s.env(), s.entrypoint(), s.cmd(), s.workdir(), s.labels(), s.schedule(), s.target(), s.tag(), s.retention());
    }

    @Test
    void aTimeZoneMeansWhatTheSchedulerRunsAndAnUnknownOneIsNamed() throws IOException {
        write("east.yaml", VALID + "schedule: {cron: \"0 0 3 * * ?\", timeZone: \"UTC+5\"}\n");
        Stack east = Catalog.load(dir).stack("east").orElseThrow();
        // TimeZone.getTimeZone("UTC+5") is GMT: the scheduler would have run it five hours late
        assertThat(east.schedule().zone().getRawOffset()).isEqualTo(5 * 3600_000);
        assertThat(Stack.Schedule.zoneOf("Europe/Paris").getID()).isEqualTo("Europe/Paris");
        Path file = write("nowhere.yaml", VALID + "schedule: {cron: \"0 0 3 * * ?\", timeZone: \"UTC+5:99\"}\n");
        assertThat(Catalog.load(dir).problems("nowhere")).extracting(Problem::toString)
                .containsExactly(file + ": schedule.timeZone: unknown time zone 'UTC+5:99' (line 12)");
    }

    @Test
    void aCronThatFiresMoreOftenThanTheMinimumIsRefused() throws IOException {
        Path file = write("busy.yaml", VALID + "schedule: {cron: \"0 */5 * * * ?\"}\n");
        write("hourly.yaml", VALID + "schedule: {cron: \"0 0 * * * ?\", timeZone: Europe/Paris}\n");
        Path twice = write("twice.yaml", VALID + "schedule: {cron: \"0,30 0 3 * * ?\"}\n");
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.problems()).extracting(Problem::toString).containsExactly(
                file + ": schedule.cron: '0 */5 * * * ?' fires every 5 minutes at its most frequent; the minimum is 1 hour"
                        + " (kiln.min-schedule-interval) (line 12)",
                twice + ": schedule.cron: '0,30 0 3 * * ?' fires every 30 seconds at its most frequent; the minimum is 1 hour"
                        + " (kiln.min-schedule-interval) (line 12)");
        assertThat(catalog.stack("hourly")).as("hourly, across daylight-saving changes").isPresent();
        assertThat(Catalog.load(dir, new Catalog.Rules(java.time.Duration.ofMinutes(5))).stack("busy")).isPresent();
    }

    @Test
    void aKeyringThatIsNotOneOrLeavesTheCatalogIsNamedAsSourceKeyring() throws IOException {
        Files.writeString(dir.resolve("keys/notes.gpg"), "not a key");
        Path file = write("notkey.yaml", VALID.replace("keys/test.gpg", "keys/notes.gpg"));
        Path outside = Files.copy(Path.of("catalog/keys/debian-trixie.gpg"), Files.createTempFile("outside", ".gpg"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.createSymbolicLink(dir.resolve("keys/link.gpg"), outside);
        Path linked = write("linked.yaml", VALID.replace("keys/test.gpg", "keys/link.gpg"));
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.problems()).extracting(Problem::toString).containsExactly(
                linked + ": source.keyring: is a symbolic link to " + outside.toRealPath() + ", outside the catalog directory (line 6)",
                file + ": source.keyring: keyring keys/notes.gpg is not an OpenPGP public keyring: no packet header at byte 0 (line 6)");
        Files.delete(outside);
    }

    @Test
    void aStackFileThatLinksOutsideTheCatalogIsRefused() throws IOException {
        Path elsewhere = Files.writeString(Files.createTempFile("stack", ".yaml"), VALID);
        Files.createSymbolicLink(dir.resolve("sneaky.yaml"), elsewhere);
        write("real.yaml", VALID);
        Files.createSymbolicLink(dir.resolve("alias.yaml"), dir.resolve("real.yaml"));
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.problems()).extracting(Problem::toString).containsExactly(
                dir.resolve("sneaky.yaml") + ": is a symbolic link to " + elsewhere.toRealPath() + ", outside the catalog directory; refusing it");
        assertThat(catalog.stacks()).extracting(Stack::name).containsExactly("alias", "real");
        Files.delete(elsewhere);
    }

    @Test
    void aFileThatIsNotUtf8NamesItsLineAndAYamlTagIsNamed() throws IOException {
        Path latin = dir.resolve("latin.yaml");
        Files.write(latin, VALID.replace("Test stack", "Caf\u00e9").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        Path tagged = write("tagged.yaml", VALID.replace("description: Test stack", "description: !!binary aGVsbG8="));
        Path suite = write("suite.yaml", VALID.replace("[stable]", "[\"stable/../../x\"]"));
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.problems()).extracting(Problem::toString).containsExactly(
                latin + ": not UTF-8: byte 0xE9 at line 1, column 17",
                suite + ": source.archives[0].suites[0]: 'stable/../../x' is not a suite or component name (segments of letters,"
                        + " digits and ._+~@=- separated by '/', none '.' or '..')",
                tagged + ": description: must be a string, found a value with the YAML tag !!binary (tags are not allowed in a stack"
                        + " file) (line 1)");
    }

    private static final String MULTI = VALID.replace("architecture: amd64", "architectures: [amd64, arm64]") + """
            env:
              JAVA_HOME: /usr/lib/jvm/java-21-openjdk-{architecture}
              LD_LIBRARY_PATH: /usr/lib/{multiarch}/extra
            hardening:
              dropPaths:
                - /usr/lib/jvm/java-21-openjdk-{architecture}/lib/libjsound.so
            entrypoint: ["/usr/lib/jvm/java-21-openjdk-{architecture}/bin/java"]
            """;

    @Test
    void aStackNamesItsArchitecturesAndEachPlatformFillsInThePlaceholders() throws IOException {
        write("multi.yaml", MULTI);
        Stack multi = Catalog.load(dir).stack("multi").orElseThrow();
        assertThat(multi.source().architectures()).containsExactly("amd64", "arm64");
        assertThat(multi.source().multiArchitecture()).isTrue();
        Stack arm64 = multi.forArchitecture("arm64");
        assertThat(arm64.architecture()).isEqualTo("arm64");
        assertThat(arm64.env()).containsEntry("JAVA_HOME", "/usr/lib/jvm/java-21-openjdk-arm64")
                .containsEntry("LD_LIBRARY_PATH", "/usr/lib/aarch64-linux-gnu/extra");
        assertThat(arm64.hardening().dropPaths()).containsExactly("/usr/lib/jvm/java-21-openjdk-arm64/lib/libjsound.so");
        assertThat(arm64.entrypoint()).containsExactly("/usr/lib/jvm/java-21-openjdk-arm64/bin/java");
        assertThat(multi.forArchitecture("amd64").env()).containsEntry("LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu/extra");
        assertThat(multi.env()).as("the catalog's stack keeps its placeholders").containsEntry("JAVA_HOME", "/usr/lib/jvm/java-21-openjdk-{architecture}");
        org.assertj.core.api.Assertions.assertThatThrownBy(multi::architecture).hasMessageContaining("forArchitecture");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> multi.forArchitecture("i386")).hasMessageContaining("not built for i386");
        // the digest of several architectures names them all, in order; one architecture as a list is the single key
        assertThat(Catalog.digest(multi)).isNotEqualTo(Catalog.digest(Catalog.load(dir).stack("multi").map(s -> s.forArchitecture("amd64")).orElseThrow()));
        write("one.yaml", VALID);
        Path other = Files.createDirectories(dir.resolve("other"));
        Files.copy(dir.resolve("keys"), other.resolve("keys"));
        Files.copy(dir.resolve("keys/test.gpg"), other.resolve("keys/test.gpg"));
        Files.writeString(other.resolve("one.yaml"), VALID.replace("architecture: amd64", "architectures: [amd64]"));
        Files.writeString(other.resolve("multi.yaml"), MULTI.replace("[amd64, arm64]", "[arm64, amd64]"));
        assertThat(Catalog.digest(Catalog.load(other).stack("one").orElseThrow())).isEqualTo(Catalog.digest(Catalog.load(dir).stack("one").orElseThrow()));
        assertThat(Catalog.digest(Catalog.load(other).stack("multi").orElseThrow())).as("the order is the index's").isNotEqualTo(Catalog.digest(multi));
    }

    @Test
    void aRecordedDefinitionOfOneOrSeveralArchitecturesReadsBackToItself() throws IOException {
        write("multi.yaml", MULTI);
        write("one.yaml", VALID);
        for (String name : List.of("multi", "one")) {
            Stack stack = Catalog.load(dir).stack(name).orElseThrow();
            Stack read = Catalog.fromCanonical(Catalog.canonical(stack));
            assertThat(read).as(name).isEqualTo(stack);
            assertThat(Catalog.digest(read)).isEqualTo(Catalog.digest(stack));
        }
        assertThat(Catalog.fromCanonical(Catalog.canonical(Catalog.load(dir).stack("multi").orElseThrow())).source().architectures())
                .containsExactly("amd64", "arm64");
    }

    @Test
    void theExampleCatalogsDigestsAreTheOnesItsLocksWereMadeFrom() {
        Catalog catalog = Catalog.load(Path.of("catalog"));
        for (Stack stack : catalog.stacks()) {
            assertThat(dev.kiln.debian.LockFile.read(Path.of("catalog", stack.name() + ".lock.json")).orElseThrow().stackDigest())
                    .as(stack.name()).isEqualTo(Catalog.digest(stack));
        }
    }

    @Test
    void architecturesAreCheckedAndALiteralArchitectureInAStackOfSeveralIsRefused() throws IOException {
        Path both = write("both.yaml", VALID.replace("  architecture: amd64\n", "  architecture: amd64\n  architectures: [amd64]\n"));
        Path none = write("none.yaml", VALID.replace("  architecture: amd64\n", ""));
        Path bad = write("bad.yaml", VALID.replace("architecture: amd64", "architectures: [amd64, mips, amd64]"));
        Path empty = write("empty.yaml", VALID.replace("architecture: amd64", "architectures: []"));
        Path literal = write("literal.yaml", MULTI.replace("{architecture}/bin", "amd64/bin").replace("/usr/lib/{multiarch}/extra",
                "/usr/lib/aarch64-linux-gnu/extra"));
        write("single.yaml", VALID + "env: {JAVA_HOME: /usr/lib/jvm/java-21-openjdk-amd64}\n");
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.stack("single")).as("one architecture may name itself").isPresent();
        assertThat(catalog.problems()).extracting(Problem::toString).containsExactly(
                bad + ": source.architectures[1]: unknown Debian architecture 'mips'; one of [amd64, arm64, armel, armhf, i386, ppc64el, riscv64, s390x] (line 5)",
                bad + ": source.architectures[2]: 'amd64' is listed twice",
                both + ": source.architectures: give either architecture or architectures, not both (line 6)",
                empty + ": source.architectures: must name at least one architecture (line 5)",
                literal + ": env.LD_LIBRARY_PATH: '/usr/lib/aarch64-linux-gnu/extra' names aarch64-linux-gnu, but the stack is built for amd64 and arm64:"
                        + " write {multiarch} instead, which each platform fills in with its own",
                literal + ": entrypoint[0]: '/usr/lib/jvm/java-21-openjdk-amd64/bin/java' names amd64, but the stack is built for amd64 and arm64:"
                        + " write {architecture} instead, which each platform fills in with its own",
                none + ": source.architecture: is required (or architectures, a list such as [amd64, arm64])");
    }
}
