package dev.kiln.retire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnApplication;
import dev.kiln.cli.KilnCommandLine;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Retirement end to end: four versions of a stack built into Debian's docker-registry by the CLI, one
 * pinned, then {@code kiln retire --dry-run} and {@code kiln retire} with keepLast 2, and what remains
 * in the registry and in the history; then a retirement left undone by a "crash" is finished.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RetireIT {

    private Path tmp;
    private TestArchive repo;
    private TestRegistry registry;
    private Database database;
    private History history;
    private Path catalog;
    private final List<String> tags = new ArrayList<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        repo = new TestArchive(tmp.resolve("repo"));
        registry = new TestRegistry(tmp);
        // the test holds the embedded server of the data directory open; every kiln command joins it
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        catalog = Files.createDirectories(tmp.resolve("catalog"));
        for (int version = 1; version <= 4; version++) {
            if (version == 1) {
                Files.createDirectories(catalog.resolve("keys"));
                Files.writeString(catalog.resolve("app.yaml"), repo.stackHead("retirement test") + """
                        packages: [app-data]
                        target:
                          repository: golden/app
                        retention:
                          keepLast: 2
                          keepDays: 0
                          keepPulledDays: 30
                        """);
            }
            buildVersion(version);
        }
        assertThat(registry.tags("ret/golden/app")).containsExactlyInAnyOrderElementsOf(tags).hasSize(4);
    }

    private void buildVersion(int version, String... options) throws Exception {
        Path tree = Files.createDirectories(tmp.resolve("v" + version).resolve("usr/share/app"));
        Files.writeString(tree.resolve("VERSION"), "version " + version + "\n");
        repo.deb("stable", "app-data", version + ".0", tmp.resolve("v" + version));
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));
        if (version == 1) {
            repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        }
        assertThat(kiln("lock", "app")).as(err()).isZero();
        List<String> args = new ArrayList<>(List.of("build", "app", "--target", registry.address() + "/ret"));
        args.addAll(List.of(options));
        assertThat(kiln(args.toArray(String[]::new))).as(err()).isZero();
        tags.add(out().lines().findFirst().orElseThrow().replaceAll(".*:", "").strip());
    }

    @AfterAll
    void tearDown() {
        Resources.close(database, registry, repo);
    }

    @Test
    @Order(1)
    void retiresByPolicyNeverTheCurrentOrAPinnedImageAndRecordsEachRetirement() {
        assertThat(history.pin("app", History.ImageName.tagged("ret/golden/app", tags.get(0)), "alice", "audit hold INC-42")).hasSize(1);

        assertThat(kiln("retire", "app", "--dry-run", "--target", registry.address() + "/ret")).as(err()).isZero();
        assertThat(out()).contains("app  ret/golden/app on " + registry.address() + "/ret")
                .contains("pull times unknown here")
                .containsPattern("keep +" + tags.get(3) + " .*the current approved image")
                .containsPattern("keep +" + tags.get(2) + " .*one of the last 2 builds \\(2nd newest\\)")
                .containsPattern("retire +" + tags.get(1) + " .*pull time unknown \\(this target does not record pulls\\)")
                .containsPattern("keep +" + tags.get(0) + " .*pinned: alice: audit hold INC-42")
                .contains("dry run: 1 to retire, nothing deleted");
        assertThat(registry.tags("ret/golden/app")).hasSize(4);

        assertThat(kiln("retire", "app", "--target", registry.address() + "/ret")).as(err()).isZero();
        assertThat(out()).contains("retired 1");
        assertThat(registry.tags("ret/golden/app")).containsExactlyInAnyOrder(tags.get(0), tags.get(2), tags.get(3));

        JdbcClient jdbc = JdbcClient.create(database.dataSource());
        Map<String, Object> tag = jdbc.sql("SELECT retired_at, retired_by, retired_reason FROM image_tag WHERE tag = ?")
                .param(tags.get(1)).query().singleRow();
        assertThat(tag.get("retired_at")).isNotNull();
        assertThat((String) tag.get("retired_by")).startsWith("cli:");
        assertThat((String) tag.get("retired_reason")).startsWith("not among the last 2 builds");
        assertThat(history.retirements("app")).singleElement().satisfies(r -> {
            assertThat(r.tag()).isEqualTo(tags.get(1));
            assertThat(r.doneAt()).isAfterOrEqualTo(r.plannedAt());
        });
        assertThat(history.audit(0, 50).items()).extracting(e -> e.action() + " " + e.subject())
                .contains("tag.retired ret/golden/app:" + tags.get(1), "tag.pinned app:ret/golden/app:" + tags.get(0));
        // history keeps every build, retired or not
        assertThat(history.builds("app", 0, 10).total()).isEqualTo(4);

        // nothing left to retire: a second run changes nothing
        assertThat(kiln("retire", "app", "--target", registry.address() + "/ret")).isZero();
        assertThat(out()).contains("retired 0");
        assertThat(registry.tags("ret/golden/app")).hasSize(3);
    }

    @Test
    @Order(2)
    void aRetirementLeftUndoneIsFinishedOrCancelledByTheNextRun() {
        // unpin the oldest: the policy now retires it. A "crash" recorded the retirement, deleted nothing.
        history.unpin("app", History.ImageName.tagged("ret/golden/app", tags.get(0)), "alice", "hold lifted");
        long tagId = JdbcClient.create(database.dataSource()).sql("SELECT id FROM image_tag WHERE tag = ?").param(tags.get(0))
                .query(Long.class).single();
        history.retirementPlanned(tagId, "crashed-run", "not among the last 2 builds (recorded before a crash)");
        assertThat(registry.tags("ret/golden/app")).contains(tags.get(0));

        assertThat(kiln("retire", "app", "--target", registry.address() + "/ret")).as(err()).isZero();
        assertThat(out()).contains("finished 1 left from an earlier run");
        assertThat(registry.tags("ret/golden/app")).doesNotContain(tags.get(0));
        assertThat(history.retirements("app")).filteredOn(r -> r.tag().equals(tags.get(0))).singleElement()
                .satisfies(r -> {
                    assertThat(r.plannedBy()).isEqualTo("crashed-run");
                    assertThat(r.doneAt()).isNotNull();
                });

        // one recorded for the current image (say the policy changed since): cancelled, not executed
        long current = JdbcClient.create(database.dataSource()).sql("SELECT id FROM image_tag WHERE tag = ?").param(tags.get(3))
                .query(Long.class).single();
        history.retirementPlanned(current, "crashed-run", "stale plan");
        assertThat(kiln("retire", "app", "--target", registry.address() + "/ret")).isZero();
        assertThat(registry.tags("ret/golden/app")).contains(tags.get(3));
        assertThat(history.retirements("app")).filteredOn(r -> r.tag().equals(tags.get(3))).singleElement()
                .satisfies(r -> assertThat(r.error()).startsWith("cancelled: the policy now keeps it (the current approved image)"));
    }

    @Test
    @Order(3)
    void aStackRemovedFromTheCatalogIsStillRetiredByThePolicyItLastHad() throws Exception {
        // an explicit tag: the template's first free number would be a retired one's (reported, not this test's subject)
        buildVersion(5, "--tag", "5.0");
        Files.delete(catalog.resolve("app.yaml"));
        Files.delete(catalog.resolve("app.lock.json"));

        assertThat(kiln("retire", "--dry-run", "--target", registry.address() + "/ret")).as(err()).isZero();
        assertThat(out()).contains("app: not in the catalog; retired by the policy it last had")
                .contains("app  ret/golden/app on " + registry.address() + "/ret  (keep the last 2, 0 days, pulled within 30 days")
                .containsPattern("keep +" + tags.get(4) + " .*the current approved image")
                .containsPattern("keep +" + tags.get(3) + " .*one of the last 2 builds")
                .containsPattern("retire +" + tags.get(2) + " .*");
        assertThat(kiln("retire", "app", "--target", registry.address() + "/ret")).as(err()).isZero();
        assertThat(out()).contains("retired 1");
        assertThat(registry.tags("ret/golden/app")).containsExactlyInAnyOrder(tags.get(3), tags.get(4));
        assertThat(kiln("retire", "nope", "--target", registry.address() + "/ret")).isEqualTo(64);
        assertThat(err()).contains("no stack 'nope'");
    }

    private int kiln(String... args) {
        out.reset();
        err.reset();
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--catalog", catalog.toString(), "--data-dir", tmp.resolve("data").toString()));
        return KilnCommandLine.run(KilnApplication.class, all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
