package dev.kiln.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {

    private Instant now = Instant.parse("2026-12-01T10:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };
    private final LoginThrottle throttle = new LoginThrottle(
            new SecurityProperties.Login(3, 5, Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofMinutes(15)), clock);

    @Test
    void theFirstFailuresAreFreeThenEachDoublesTheWaitUpToTheMaximum() {
        for (int i = 1; i <= 3; i++) {
            assertThat(throttle.failed("alice", "10.0.0." + i).delay()).isZero();
        }
        assertThat(throttle.failed("alice", "10.0.0.4")).isEqualTo(new LoginThrottle.Outcome(4, 1, Duration.ofSeconds(1)));
        assertThat(throttle.blocked("alice", "10.0.0.9")).as("any address").hasValue(Duration.ofSeconds(1));
        assertThat(throttle.blocked("bob", "10.0.0.4")).as("other users").isEmpty();
        now = now.plusSeconds(1);
        assertThat(throttle.blocked("alice", "10.0.0.9")).isEmpty();
        assertThat(throttle.failed("alice", "10.0.0.9").delay()).isEqualTo(Duration.ofSeconds(2));
        now = now.plusSeconds(2);
        assertThat(throttle.failed("alice", "10.0.0.9").delay()).isEqualTo(Duration.ofSeconds(4));
        now = now.plusSeconds(4);
        assertThat(throttle.failed("alice", "10.0.0.9").delay()).isEqualTo(Duration.ofSeconds(8));
        now = now.plusSeconds(8);
        assertThat(throttle.failed("alice", "10.0.0.9").delay()).as("capped").isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void anAddressSprayingNamesIsThrottledEvenForAValidUser() {
        for (int i = 0; i < 5; i++) {
            throttle.failed("user" + i, "10.0.0.1");
        }
        assertThat(throttle.blocked("carol", "10.0.0.1")).isEmpty();
        assertThat(throttle.failed("user5", "10.0.0.1").delay()).isEqualTo(Duration.ofSeconds(1));
        assertThat(throttle.blocked("carol", "10.0.0.1")).hasValue(Duration.ofSeconds(1));
        assertThat(throttle.blocked("carol", "10.0.0.2")).isEmpty();
    }

    @Test
    void aSuccessClearsTheUserButNotTheAddress() {
        for (int i = 0; i < 3; i++) {
            throttle.failed("dave", "10.0.0.1");
        }
        throttle.succeeded("dave");
        assertThat(throttle.failed("dave", "10.0.0.1")).isEqualTo(new LoginThrottle.Outcome(1, 4, Duration.ZERO));
    }

    @Test
    void aQuietKeyIsForgotten() {
        for (int i = 0; i < 4; i++) {
            throttle.failed("erin", "10.0.0.1");
        }
        now = now.plus(Duration.ofMinutes(16));
        assertThat(throttle.blocked("erin", "10.0.0.1")).isEqualTo(Optional.empty());
        assertThat(throttle.failed("erin", "10.0.0.1")).isEqualTo(new LoginThrottle.Outcome(1, 1, Duration.ZERO));
    }
}
