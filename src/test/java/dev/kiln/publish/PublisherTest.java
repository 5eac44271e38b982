package dev.kiln.publish;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** ECR's refusal of an immutable tag cannot be produced by a local registry; its wording is checked here. */
class PublisherTest {

    @Test
    void ecrsImmutableTagRefusalIsWordedForPeople() {
        // the error ECR's registry answers with (HTTP 400, TAG_INVALID), as jib reports it
        String ecr = "Tried to push image manifest for 123456789012.dkr.ecr.eu-central-1.amazonaws.com/golden/java:21-20261122.1 "
                + "but failed because: tag invalid: The image tag '21-20261122.1' already exists in the 'golden/java' repository "
                + "and cannot be overwritten because the repository is immutable.";
        Target target = new Target("123456789012.dkr.ecr.eu-central-1.amazonaws.com", "", true);
        assertThat(Publisher.refusal(target, ecr))
                .startsWith("publishing to ecr:123456789012.dkr.ecr.eu-central-1.amazonaws.com: ECR refused the push because the tag "
                        + "already exists and the repository's tags are immutable; Kiln never overwrites a tag, nothing was changed")
                .endsWith("(" + ecr + ")");
        assertThat(Publisher.refusal(new Target("localhost:5000", ""), "connection refused"))
                .isEqualTo("publishing to localhost:5000: connection refused");
    }

    @Test
    void targetsParseLocalEcrAndRegistries() {
        assertThat(Target.parse("local").local()).isTrue();
        Target ecr = Target.parse("ecr/platform");
        assertThat(ecr.ecr()).isTrue();
        assertThat(ecr.withRegistry("1.dkr.ecr.x.amazonaws.com").repository("golden/java")).isEqualTo("platform/golden/java");
        assertThat(ecr.withRegistry("1.dkr.ecr.x.amazonaws.com").toString()).isEqualTo("ecr:1.dkr.ecr.x.amazonaws.com/platform");
        assertThat(Target.parse("localhost:5000/ns").toString()).isEqualTo("localhost:5000/ns");
    }
}
