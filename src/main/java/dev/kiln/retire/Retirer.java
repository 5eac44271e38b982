package dev.kiln.retire;

import dev.kiln.catalog.Stack;
import dev.kiln.history.History;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.PublishException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retires a stack's stale images by its retention policy. Only images Kiln recorded are considered.
 * Each retirement is recorded (who, when, why) before the delete and marked done after it; one left
 * undone by a crash or a failed delete is finished by the next run. Deleting is by digest, through the
 * target, which takes each image's signatures and attestations with it.
 */
public final class Retirer {

    private static final Logger log = LoggerFactory.getLogger(Retirer.class);

    private final History history;
    private final ImageTarget target;
    private final Clock clock;

    public Retirer(History history, ImageTarget target, Clock clock) {
        this.history = history;
        this.target = target;
        this.clock = clock;
    }

    /** The plan for one stack: a keep or retire decision, with its reason, per image. */
    public record Plan(String stack, String target, String repository, boolean pullTimesKnown, RetentionPlanner.Policy policy,
                       List<RetentionPlanner.Decision> decisions) {
        public List<RetentionPlanner.Decision> retiring() {
            return decisions.stream().filter(d -> !d.keep()).toList();
        }
    }

    public Plan plan(Stack stack) {
        String repository = target.repository(stack.target().repository());
        Map<String, List<History.LiveTag>> byDigest = new LinkedHashMap<>();
        history.liveTags(stack.name(), target.name()).forEach(t -> byDigest.computeIfAbsent(t.digest(), d -> new ArrayList<>()).add(t));
        Map<String, Optional<Instant>> pulls = new LinkedHashMap<>();
        boolean pullTimes = target.pullTimesKnown();
        if (pullTimes) {
            target.images(repository).forEach(i -> pulls.put(i.digest(), i.lastPulled()));
        }
        List<RetentionPlanner.Image> images = new ArrayList<>();
        byDigest.forEach((digest, tags) -> images.add(new RetentionPlanner.Image(digest, tags.stream().map(History.LiveTag::tag).toList(),
                tags.stream().mapToLong(History.LiveTag::build).max().orElse(0),
                tags.stream().map(History.LiveTag::pushedAt).max(Comparator.naturalOrder()).orElseThrow(),
                pulls.getOrDefault(digest, Optional.empty()),
                tags.stream().map(History.LiveTag::pin).filter(p -> p != null).findFirst().orElse(null))));
        Optional<String> current = history.stack(stack.name()).map(History.Stack::currentDigest);
        RetentionPlanner.Policy policy = new RetentionPlanner.Policy(stack.retention().keepLast(), stack.retention().keepDays(),
                stack.retention().keepPulledDays());
        return new Plan(stack.name(), target.name(), repository, pullTimes, policy,
                RetentionPlanner.plan(images, current, policy, clock.instant(), pullTimes));
    }

    /** What a run did: the plan, the tags retired now, those finished from an earlier run, and failures. */
    public record Result(Plan plan, List<String> retired, List<String> resumed, Map<String, String> failed) {
    }

    public Result retire(Stack stack, String who) {
        List<String> resumed = new ArrayList<>();
        Map<String, String> failed = new LinkedHashMap<>();
        Plan plan = plan(stack);
        // left undone by an earlier run: finish what the policy still retires, cancel what it now keeps
        Map<String, String> kept = new LinkedHashMap<>();
        plan.decisions().stream().filter(RetentionPlanner.Decision::keep).forEach(d -> kept.put(d.image().digest(), d.reason()));
        List<History.LiveTag> pending = new ArrayList<>();
        for (History.LiveTag tag : history.pendingRetirements(stack.name(), target.name())) {
            if (kept.containsKey(tag.digest())) {
                history.retirementCancelled(tag.id(), "cancelled: the policy now keeps it (" + kept.get(tag.digest()) + ")");
            } else {
                pending.add(tag);
            }
        }
        delete(stack, pending, resumed, failed);
        java.util.Set<Long> handled = new java.util.HashSet<>();
        pending.forEach(t -> handled.add(t.id()));
        List<History.LiveTag> now = new ArrayList<>();
        Map<String, List<History.LiveTag>> live = new LinkedHashMap<>();
        history.liveTags(stack.name(), target.name()).forEach(t -> live.computeIfAbsent(t.digest(), d -> new ArrayList<>()).add(t));
        for (RetentionPlanner.Decision d : plan.retiring()) {
            for (History.LiveTag tag : live.getOrDefault(d.image().digest(), List.of())) {
                if (handled.contains(tag.id())) {
                    continue;
                }
                history.retirementPlanned(tag.id(), who, d.reason());
                now.add(tag);
            }
        }
        List<String> retired = new ArrayList<>();
        delete(stack, now, retired, failed);
        if (!retired.isEmpty() || !failed.isEmpty() || !resumed.isEmpty()) {
            log.info("{}: retired {}, finished {} from an earlier run, failed {}", stack.name(), retired, resumed, failed.keySet());
        }
        return new Result(plan, retired, resumed, failed);
    }

    /** Why an image cannot be retired by hand: it is the approved one, or pinned. */
    public static final class Refused extends RuntimeException {
        public Refused(String message) {
            super(message);
        }
    }

    /**
     * Retires one image now, named by any of its live tags, whatever the policy says: every tag naming
     * its digest, recorded with {@code who} and {@code reason}. The approved image and a pinned image are
     * refused ({@link Refused}); empty when the stack has no live tag {@code tag}.
     */
    public Optional<Result> retireNow(Stack stack, String tag, String who, String reason) {
        Plan plan = plan(stack);
        Optional<RetentionPlanner.Decision> decision = plan.decisions().stream().filter(d -> d.image().tags().contains(tag)).findFirst();
        if (decision.isEmpty()) {
            return Optional.empty();
        }
        RetentionPlanner.Image image = decision.get().image();
        if (history.stack(stack.name()).map(History.Stack::currentDigest).filter(image.digest()::equals).isPresent()) {
            throw new Refused(stack.name() + ":" + tag + " is the approved image (" + image.digest() + "); it is never retired");
        }
        if (image.pin() != null) {
            throw new Refused(stack.name() + ":" + tag + " is pinned (" + image.pin() + "); unpin it first");
        }
        List<History.LiveTag> tags = history.liveTags(stack.name(), target.name()).stream().filter(t -> t.digest().equals(image.digest())).toList();
        tags.forEach(t -> history.retirementPlanned(t.id(), who, reason));
        List<String> retired = new ArrayList<>();
        Map<String, String> failed = new LinkedHashMap<>();
        delete(stack, tags, retired, failed);
        return Optional.of(new Result(plan, retired, List.of(), failed));
    }

    /** Deletes the tags' images by digest, then marks each tag's retirement done (or records why not). */
    private void delete(Stack stack, List<History.LiveTag> tags, List<String> done, Map<String, String> failed) {
        if (tags.isEmpty()) {
            return;
        }
        Map<String, List<History.LiveTag>> byDigest = new LinkedHashMap<>();
        tags.forEach(t -> byDigest.computeIfAbsent(t.digest(), d -> new ArrayList<>()).add(t));
        Map<String, String> errors = new LinkedHashMap<>();
        try {
            errors.putAll(target.delete(target.repository(stack.target().repository()), List.copyOf(byDigest.keySet())));
        } catch (PublishException e) {
            byDigest.keySet().forEach(d -> errors.put(d, e.getMessage()));
        }
        byDigest.forEach((digest, group) -> group.forEach(tag -> {
            if (errors.containsKey(digest)) {
                history.retirementFailed(tag.id(), errors.get(digest));
                failed.put(tag.tag(), errors.get(digest));
            } else {
                history.retirementDone(tag.id());
                done.add(tag.tag());
            }
        }));
    }
}
