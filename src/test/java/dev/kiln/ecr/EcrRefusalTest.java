package dev.kiln.ecr;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** ECR's refusal of an immutable tag cannot be produced by a local registry; its wording is checked here. */
class EcrRefusalTest {

    @Test
    void ecrsImmutableTagRefusalIsWordedForPeople() {
        // the error ECR's registry answers with (HTTP 400, TAG_INVALID), as jib reports it
        String ecr = "Tried to push image manifest for 123456789012.dkr.ecr.eu-central-1.amazonaws.com/golden/java:21-20261122.1 "
                + "but failed because: tag invalid: The image tag '21-20261122.1' already exists in the 'golden/java' repository "
                + "and cannot be overwritten because the repository is immutable.";
        assertThat(Ecr.refusal(ecr))
                .startsWith("ECR refused the push because the tag already exists and the repository's tags are immutable; "
                        + "Kiln never overwrites a tag, nothing was changed")
                .endsWith("(" + ecr + ")");
        assertThat(Ecr.refusal("connection refused")).isEqualTo("connection refused");
    }
}
