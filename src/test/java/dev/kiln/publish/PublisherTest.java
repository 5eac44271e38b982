package dev.kiln.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PublisherTest {

    private static final Clock DAY = Clock.fixed(Instant.parse("2026-12-02T10:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path tmp;

    @Test
    void theFirstFreeNumberOfTheDayIsTakenAndTheSameImageAgainIsANoOp() {
        LocalLayoutTarget target = new LocalLayoutTarget(tmp.resolve("store"), DAY);
        Publisher publisher = new Publisher(DAY);
        Publisher.Tagging tagging = new Publisher.Tagging("21", "{version}-{yyyymmdd}.{n}", Optional.empty());
        assertThat(publisher.publish(ImageTargetContract.image(1), target, "golden/java", tagging).tag()).isEqualTo("21-20261202.1");
        assertThat(publisher.publish(ImageTargetContract.image(2), target, "golden/java", tagging).tag()).isEqualTo("21-20261202.2");
        Publisher.Published again = publisher.publish(ImageTargetContract.image(2), target, "golden/java", tagging);
        assertThat(again.tag()).isEqualTo("21-20261202.2");
        assertThat(again.alreadyPresent()).isTrue();
    }

    @Test
    void aTagThatNamedARetiredImageIsNeverGivenToAnother() {
        LocalLayoutTarget target = new LocalLayoutTarget(tmp.resolve("store"), DAY);
        Publisher publisher = new Publisher(DAY);
        // 21-20261202.1 and .2 were pushed, then retired and deleted: the target no longer has them
        Set<String> used = Set.of("21-20261202.1", "21-20261202.2");
        Publisher.Published published = publisher.publish(ImageTargetContract.image(3), target, "golden/java",
                new Publisher.Tagging("21", "{version}-{yyyymmdd}.{n}", Optional.empty(), used));
        assertThat(published.tag()).isEqualTo("21-20261202.3");
        assertThatThrownBy(() -> publisher.publish(ImageTargetContract.image(4), target, "golden/java",
                new Publisher.Tagging("21", "{version}-{yyyymmdd}.{n}", Optional.of("21-20261202.1"), used)))
                .hasMessage("oci:store/golden/java:21-20261202.1 named another image before (since retired); a tag is never given to a second image");
    }
}
