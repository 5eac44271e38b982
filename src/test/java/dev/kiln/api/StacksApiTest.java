package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.history.History;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The approved image as the API shows it: an index with the pull reference of each platform image under it. */
class StacksApiTest {

    private static final String INDEX = "sha256:" + "1".repeat(64);
    private static final String AMD64 = "sha256:" + "2".repeat(64);
    private static final String ARM64 = "sha256:" + "3".repeat(64);

    private static History.Stack stack(String target, String digest, JsonNode platforms) {
        return new History.Stack("java", "team@example.com", "golden/java", "sha256:d", Instant.EPOCH, null, 7L, digest,
                "registry.example.com/golden/java:21-1", "21-1", target, "golden/java", 7L, "succeeded", Instant.EPOCH, null, platforms);
    }

    @Test
    void anIndexShowsEachPlatformImageWithItsPullReference() {
        JsonNode platforms = JsonMapper.builder().build().readTree("""
                [{"architecture": "amd64", "platform": "linux/amd64", "digest": "%s", "packages": 19},
                 {"architecture": "arm64", "platform": "linux/arm64", "digest": "%s", "packages": 19}]""".formatted(AMD64, ARM64));
        StacksApi.Image image = StacksApi.image(stack("registry.example.com", INDEX, platforms)).orElseThrow();
        assertThat(image.digest()).isEqualTo(INDEX);
        assertThat(image.pull()).isEqualTo("registry.example.com/golden/java@" + INDEX);
        assertThat(image.platforms()).containsExactly(
                new StacksApi.PlatformImage("amd64", "linux/amd64", AMD64, "registry.example.com/golden/java@" + AMD64),
                new StacksApi.PlatformImage("arm64", "linux/arm64", ARM64, "registry.example.com/golden/java@" + ARM64));
    }

    @Test
    void aSingleImageHasNoPlatformsAndTheLocalStoreNoPullReference() {
        assertThat(StacksApi.image(stack("registry.example.com", AMD64, null)).orElseThrow().platforms()).isNull();
        JsonNode platforms = JsonMapper.builder().build().readTree("[{\"architecture\": \"arm64\", \"platform\": \"linux/arm64\", \"digest\": \""
                + ARM64 + "\"}]");
        StacksApi.Image local = StacksApi.image(stack("local", INDEX, platforms)).orElseThrow();
        assertThat(local.pull()).isNull();
        assertThat(local.platforms()).singleElement().satisfies(p -> {
            assertThat(p.digest()).isEqualTo(ARM64);
            assertThat(p.pull()).isNull();
        });
    }
}
