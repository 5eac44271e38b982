package dev.kiln.retire;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Decides which of a stack's images to keep and which to retire, and says why. Pure: images, dates,
 * pull times and the policy in, a decision per image out; nothing is read or deleted here. The rules,
 * first match wins:
 * <ol>
 *   <li>the current approved image is kept;</li>
 *   <li>a pinned image is kept;</li>
 *   <li>the newest {@code keepLast} images are kept (newest by push time, then by build);</li>
 *   <li>an image pushed less than {@code keepDays} days ago is kept;</li>
 *   <li>an image pulled less than {@code keepPulledDays} days ago is kept (0 turns the rule off; on a
 *       target that cannot tell pull times the rule cannot keep anything, and the reason says so);</li>
 *   <li>everything else is retired.</li>
 * </ol>
 */
public final class RetentionPlanner {

    private RetentionPlanner() {
    }

    public record Policy(int keepLast, int keepDays, int keepPulledDays) {
    }

    /**
     * One image (a digest) of the stack on its target.
     *
     * @param lastPulled when it was last pulled; empty when never pulled or when the target cannot tell
     * @param pin        who pinned it and why, or null
     */
    public record Image(String digest, List<String> tags, long build, Instant pushedAt, Optional<Instant> lastPulled, String pin) {
        public Image {
            tags = List.copyOf(tags);
        }
    }

    public record Decision(Image image, boolean keep, String reason) {
    }

    /**
     * @param current         the digest of the stack's current approved image, if any
     * @param pullTimesKnown  whether the target records pull times (ECR does, an OCI registry does not)
     */
    public static List<Decision> plan(List<Image> images, Optional<String> current, Policy policy, Instant now,
                                      boolean pullTimesKnown) {
        List<Image> newestFirst = new ArrayList<>(images);
        newestFirst.sort(Comparator.comparing(Image::pushedAt).thenComparingLong(Image::build).reversed());
        List<Decision> decisions = new ArrayList<>();
        for (int i = 0; i < newestFirst.size(); i++) {
            decisions.add(decide(newestFirst.get(i), i, current, policy, now, pullTimesKnown));
        }
        return decisions;
    }

    private static Decision decide(Image image, int rank, Optional<String> current, Policy policy, Instant now, boolean pullTimesKnown) {
        if (current.isPresent() && current.get().equals(image.digest())) {
            return new Decision(image, true, "the current approved image");
        }
        if (image.pin() != null) {
            return new Decision(image, true, "pinned: " + image.pin());
        }
        if (rank < policy.keepLast()) {
            return new Decision(image, true, "one of the last " + policy.keepLast() + " builds (" + ordinal(rank + 1) + " newest)");
        }
        long age = Duration.between(image.pushedAt(), now).toDays();
        if (Duration.between(image.pushedAt(), now).compareTo(Duration.ofDays(policy.keepDays())) < 0) {
            return new Decision(image, true, "pushed " + days(age) + " ago, within " + policy.keepDays() + " days");
        }
        String pulled;
        if (policy.keepPulledDays() == 0) {
            pulled = "pull rule off";
        } else if (!pullTimesKnown) {
            pulled = "pull time unknown (this target does not record pulls)";
        } else if (image.lastPulled().isEmpty()) {
            pulled = "never pulled";
        } else {
            Duration since = Duration.between(image.lastPulled().get(), now);
            if (since.compareTo(Duration.ofDays(policy.keepPulledDays())) < 0) {
                return new Decision(image, true, "pulled " + days(since.toDays()) + " ago, within " + policy.keepPulledDays() + " days");
            }
            pulled = "last pulled " + days(since.toDays()) + " ago";
        }
        return new Decision(image, false, "not among the last " + policy.keepLast() + " builds, pushed " + days(age) + " ago (keep "
                + policy.keepDays() + "), " + pulled);
    }

    private static String days(long n) {
        return n == 1 ? "1 day" : n + " days";
    }

    private static String ordinal(int n) {
        String suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : switch (n % 10) {
            case 1 -> "st";
            case 2 -> "nd";
            case 3 -> "rd";
            default -> "th";
        };
        return n + suffix;
    }
}
