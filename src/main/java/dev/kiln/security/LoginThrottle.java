package dev.kiln.security;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Back-off for failed sign-ins, kept per user name and per client address: the first failures are
 * free, then every failure doubles the wait before the next attempt is even checked (so a guess costs
 * the attacker time, and the server no password hash). A success clears the user's count, not the
 * address's: one valid account must not let an address keep guessing others. In memory, per instance,
 * bounded: the oldest keys go first.
 */
public final class LoginThrottle {

    private static final int MAX_KEYS = 100_000;

    private final SecurityProperties.Login settings;
    private final Clock clock;
    private final Map<String, Failures> keys = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Failures> eldest) {
            return size() > MAX_KEYS;
        }
    };

    public LoginThrottle(SecurityProperties.Login settings, Clock clock) {
        this.settings = settings;
        this.clock = clock;
    }

    private static final class Failures {
        int count;
        Instant last;
        Instant blockedUntil = Instant.EPOCH;
    }

    /** How long {@code user} from {@code address} must still wait; empty when an attempt may be checked now. */
    public synchronized Optional<Duration> blocked(String user, String address) {
        Instant now = clock.instant();
        Instant until = later(blockedUntil(userKey(user), now), blockedUntil(addressKey(address), now));
        return until.isAfter(now) ? Optional.of(Duration.between(now, until)) : Optional.empty();
    }

    /** Records a failure; returns the delay it imposes (zero while failures are still free) and the failure counts. */
    public synchronized Outcome failed(String user, String address) {
        Instant now = clock.instant();
        Failures byUser = record(userKey(user), settings.freeFailuresPerUser(), now);
        Failures byAddress = record(addressKey(address), settings.freeFailuresPerAddress(), now);
        Instant until = later(byUser.blockedUntil, byAddress.blockedUntil);
        return new Outcome(byUser.count, byAddress.count, until.isAfter(now) ? Duration.between(now, until) : Duration.ZERO);
    }

    public synchronized void succeeded(String user) {
        keys.remove(userKey(user));
    }

    /** A failure's effect: the counts now (per user, per address) and the wait before the next attempt. */
    public record Outcome(int userFailures, int addressFailures, Duration delay) {
    }

    private Failures record(String key, int free, Instant now) {
        Failures f = current(key, now);
        if (f == null) {
            f = new Failures();
            keys.put(key, f);
        }
        f.count++;
        f.last = now;
        if (f.count > free) {
            int doublings = Math.min(f.count - free - 1, 30);
            Duration delay = settings.firstDelay().multipliedBy(1L << doublings);
            f.blockedUntil = now.plus(delay.compareTo(settings.maxDelay()) > 0 ? settings.maxDelay() : delay);
        }
        return f;
    }

    private Instant blockedUntil(String key, Instant now) {
        Failures f = current(key, now);
        return f == null ? Instant.EPOCH : f.blockedUntil;
    }

    /** The key's failures, unless it has been quiet for forgetAfter (then it starts again). */
    private Failures current(String key, Instant now) {
        Failures f = keys.get(key);
        if (f != null && f.last.plus(settings.forgetAfter()).isBefore(now) && !f.blockedUntil.isAfter(now)) {
            keys.remove(key);
            return null;
        }
        return f;
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    private static String userKey(String user) {
        return "u:" + user;
    }

    private static String addressKey(String address) {
        return "a:" + address;
    }
}
