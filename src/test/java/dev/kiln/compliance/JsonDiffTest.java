package dev.kiln.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class JsonDiffTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void listsOfValuesCompareAsSetsAndObjectsFieldByField() {
        var before = JSON.readTree("""
                {"packages": ["base-files", "tzdata", "openjdk-21"], "hardening": {"removeShells": false, "dropPaths": ["/usr/share/doc"]},
                 "env": {"A": "1"}, "archives": [{"url": "http://a", "suites": ["x"]}]}""");
        var after = JSON.readTree("""
                {"packages": ["base-files", "curl", "tzdata", "openjdk-21"], "hardening": {"removeShells": true, "dropPaths": ["/usr/share/doc"]},
                 "env": {"B": "2"}, "archives": [{"url": "http://b", "suites": ["x", "y"]}]}""");
        assertThat(JsonDiff.of(before, after)).containsExactly(
                new JsonDiff.Change("archives[0].suites", null, "\"y\""),
                new JsonDiff.Change("archives[0].url", "\"http://a\"", "\"http://b\""),
                new JsonDiff.Change("env.A", "\"1\"", null),
                new JsonDiff.Change("env.B", null, "\"2\""),
                new JsonDiff.Change("hardening.removeShells", "false", "true"),
                new JsonDiff.Change("packages", null, "\"curl\""));
    }

    @Test
    void nothingBeforeMakesEveryFieldAnAdditionAndEqualDocumentsNoChange() {
        var doc = JSON.readTree("{\"a\": 1, \"b\": [1, 2]}");
        assertThat(JsonDiff.of(doc, doc)).isEmpty();
        assertThat(JsonDiff.of(null, doc)).extracting(JsonDiff.Change::toString).containsExactly("+ a: 1", "+ b: [1,2]");
        assertThat(JsonDiff.of(doc, null)).extracting(JsonDiff.Change::kind).containsExactly("removed", "removed");
        assertThat(JsonDiff.of(null, null)).isEqualTo(List.of());
    }
}
