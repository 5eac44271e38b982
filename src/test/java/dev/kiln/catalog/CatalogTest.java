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

    private static final String VALID = """
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
        Files.writeString(dir.resolve("keys/test.gpg"), "placeholder: only its presence is checked here");
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
                file + ": colour: unknown key; expected one of description, owner, version, source, packages, excludes, user, hardening, env, entrypoint, cmd, workdir, labels, schedule, target, tag, retention (line 20)",
                file + ": source.architecture: unknown Debian architecture 'amd65'; one of [amd64, arm64, armel, armhf, i386, ppc64el, riscv64, s390x] (line 5)",
                file + ": source.keyring: no such file " + dir.resolve("keys/missing.gpg") + " (line 6)",
                file + ": source.archives[0].url: must be an http:// or https:// URL, found 'ftp://example.org/debian' (line 8)",
                file + ": source.archives[0].suites: must not be empty (line 9)",
                file + ": packages[1]: 'Not A Package' is not a package name, optionally with a version relation such as 'tzdata (>= 2025a)'",
                file + ": packages[2]: 'tzdata' is listed twice",
                file + ": excludes[0]: 'tzdata' is also in packages; a stack cannot both want and exclude it",
                file + ": user.name: images run as a non-root user; choose another name (line 13)",
                file + ": user.uid: must be between 1 and 2147483647, found 0 (line 13)",
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
}
