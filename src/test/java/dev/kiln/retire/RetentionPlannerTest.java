package dev.kiln.retire;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.retire.RetentionPlanner.Decision;
import dev.kiln.retire.RetentionPlanner.Image;
import dev.kiln.retire.RetentionPlanner.Policy;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The retention rules against a table of cases: ties, young images, pins, the current image, pull times. */
class RetentionPlannerTest {

    private static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");

    private static Image image(String digest, long build, int daysAgo, Integer pulledDaysAgo, String pin) {
        return new Image(digest, List.of("t-" + digest), build, NOW.minus(Duration.ofDays(daysAgo)).minusSeconds(60),
                Optional.ofNullable(pulledDaysAgo).map(d -> NOW.minus(Duration.ofDays(d))), pin);
    }

    /** digest → "keep: reason" or "retire: reason" */
    private static Map<String, String> plan(List<Image> images, String current, Policy policy, boolean pullTimesKnown) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Decision d : RetentionPlanner.plan(images, Optional.ofNullable(current), policy, NOW, pullTimesKnown)) {
            out.put(d.image().digest(), (d.keep() ? "keep: " : "retire: ") + d.reason());
        }
        return out;
    }

    @Test
    void keepsTheLastNThenTheYoungThenThePulledAndRetiresTheRest() {
        Map<String, String> plan = plan(List.of(
                image("a", 1, 90, null, null),
                image("b", 2, 80, 10, null),
                image("c", 3, 70, 40, null),
                image("d", 4, 20, null, null),
                image("e", 5, 10, null, null),
                image("f", 6, 5, null, null)), "f", new Policy(2, 30, 30), true);
        assertThat(plan).containsExactly(
                Map.entry("f", "keep: the current approved image"),
                Map.entry("e", "keep: one of the last 2 builds (2nd newest)"),
                Map.entry("d", "keep: pushed 20 days ago, within 30 days"),
                Map.entry("c", "retire: not among the last 2 builds, pushed 70 days ago (keep 30), last pulled 40 days ago"),
                Map.entry("b", "keep: pulled 10 days ago, within 30 days"),
                Map.entry("a", "retire: not among the last 2 builds, pushed 90 days ago (keep 30), never pulled"));
    }

    @Test
    void theCurrentImageAndPinsAreKeptHoweverOld() {
        Map<String, String> plan = plan(List.of(
                image("old-current", 1, 400, null, null),
                image("pinned", 2, 300, null, "alice: audit hold INC-42"),
                image("x", 3, 200, null, null),
                image("y", 4, 100, null, null)), "old-current", new Policy(1, 30, 0), true);
        assertThat(plan).containsExactly(
                Map.entry("y", "keep: one of the last 1 builds (1st newest)"),
                Map.entry("x", "retire: not among the last 1 builds, pushed 200 days ago (keep 30), pull rule off"),
                Map.entry("pinned", "keep: pinned: alice: audit hold INC-42"),
                Map.entry("old-current", "keep: the current approved image"));
    }

    @Test
    void aPinnedCurrentImageIsKeptAsCurrentAndDoesNotTakeASlotOfTheLastN() {
        Map<String, String> plan = plan(List.of(
                image("cur", 3, 1, null, "bob: release"),
                image("prev", 2, 50, null, null),
                image("older", 1, 60, null, null)), "cur", new Policy(2, 0, 0), true);
        assertThat(plan.get("cur")).isEqualTo("keep: the current approved image");
        // the last-N count is by position: the current image is the newest and uses the first slot
        assertThat(plan.get("prev")).isEqualTo("keep: one of the last 2 builds (2nd newest)");
        assertThat(plan.get("older")).startsWith("retire:");
    }

    @Test
    void tiesInPushTimeAreBrokenByBuildNewestFirst() {
        Image first = new Image("first", List.of("1-20261001.1"), 10, NOW.minus(Duration.ofDays(50)), Optional.empty(), null);
        Image second = new Image("second", List.of("1-20261001.2"), 11, NOW.minus(Duration.ofDays(50)), Optional.empty(), null);
        Map<String, String> plan = plan(List.of(first, second), null, new Policy(1, 30, 30), true);
        assertThat(plan).containsExactly(
                Map.entry("second", "keep: one of the last 1 builds (1st newest)"),
                Map.entry("first", "retire: not among the last 1 builds, pushed 50 days ago (keep 30), never pulled"));
    }

    @Test
    void whenEveryImageIsYoungNothingIsRetired() {
        Map<String, String> plan = plan(List.of(image("a", 1, 3, null, null), image("b", 2, 2, null, null),
                image("c", 3, 1, null, null)), null, new Policy(1, 7, 30), true);
        assertThat(plan.values()).allSatisfy(v -> assertThat(v).startsWith("keep: "));
        assertThat(plan.get("a")).isEqualTo("keep: pushed 3 days ago, within 7 days");
    }

    @Test
    void missingPullTimesCannotKeepAnImageAndTheReasonSaysSo() {
        Map<String, String> plan = plan(List.of(image("a", 1, 90, 1, null), image("b", 2, 1, null, null)), "b",
                new Policy(1, 30, 30), false);
        assertThat(plan.get("a")).isEqualTo(
                "retire: not among the last 1 builds, pushed 90 days ago (keep 30), pull time unknown (this target does not record pulls)");
    }

    @Test
    void anImageExactlyKeepDaysOldIsNoLongerYoung() {
        Image edge = new Image("edge", List.of("t"), 1, NOW.minus(Duration.ofDays(30)), Optional.empty(), null);
        Image newest = image("n", 2, 0, null, null);
        assertThat(plan(List.of(edge, newest), "n", new Policy(1, 30, 0), true).get("edge")).startsWith("retire:");
        assertThat(plan(List.of(), null, new Policy(1, 30, 0), true)).isEmpty();
    }
}
