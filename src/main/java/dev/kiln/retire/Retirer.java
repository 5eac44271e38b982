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

    /**
     * What retirement needs of a stack: its name, its repository and its retention policy. For a stack in
     * the catalog these come from its definition; for one removed from it (or broken there), from what the
     * history recorded last, so its images are still retired by the policy it had.
     */
    public record Subject(String name, String repository, RetentionPlanner.Policy policy, Instant removedAt) {
        public static Subject of(Stack stack) {
            return new Subject(stack.name(), stack.target().repository(), new RetentionPlanner.Policy(stack.retention().keepLast(),
                    stack.retention().keepDays(), stack.retention().keepPulledDays()), null);
        }

        /** A recorded stack by its last recorded policy; empty when none was ever recorded. */
        public static Optional<Subject> recorded(History.Stack stack) {
            if (stack.policy() == null || stack.repository() == null) {
                return Optional.empty();
            }
            History.Policy p = stack.policy();
            return Optional.of(new Subject(stack.name(), stack.repository(), new RetentionPlanner.Policy(p.keepLast(), p.keepDays(),
                    p.keepPulledDays()), stack.removedAt()));
        }
    }

    /**
     * The recorded stacks that are not among {@code valid} (removed from the catalog, or invalid there
     * now) but have a recorded policy: retired by it.
     */
    public List<Subject> outsideTheCatalog(java.util.Set<String> valid) {
        return history.stacks().stream().filter(s -> !valid.contains(s.name())).map(Subject::recorded).flatMap(Optional::stream).toList();
    }

    /** The plan for one stack: a keep or retire decision, with its reason, per image. */
    public record Plan(String stack, String target, String repository, boolean pullTimesKnown, RetentionPlanner.Policy policy,
                       List<RetentionPlanner.Decision> decisions) {
        public List<RetentionPlanner.Decision> retiring() {
            return decisions.stream().filter(d -> !d.keep()).toList();
        }
    }

    public Plan plan(Stack stack) {
        return plan(Subject.of(stack));
    }

    public Plan plan(Subject stack) {
        String repository = target.repository(stack.repository());
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
        RetentionPlanner.Policy policy = stack.policy();
        return new Plan(stack.name(), target.name(), repository, pullTimes, policy,
                RetentionPlanner.plan(images, current, policy, clock.instant(), pullTimes));
    }

    /** What a run did: the plan, the tags retired now, those finished from an earlier run, and failures. */
    public record Result(Plan plan, List<String> retired, List<String> resumed, Map<String, String> failed) {
    }

    public Result retire(Stack stack, String who) {
        return retire(Subject.of(stack), who);
    }

    public Result retire(Subject stack, String who) {
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

    /**
     * Why an image cannot be retired by hand: {@code approved-image}, {@code pinned}, or
     * {@code ambiguous-tag} (a tag two live images carry, after a repository change: name the digest).
     */
    public static final class Refused extends RuntimeException {
        private final String kind;

        public Refused(String kind, String message) {
            super(message);
            this.kind = kind;
        }

        public String kind() {
            return kind;
        }
    }

    /**
     * Retires one image now, named by its digest or any of its live tags, whatever the policy says: every
     * tag naming its digest, recorded with {@code who} and {@code reason}. The approved image and a pinned
     * image are refused ({@link Refused}); empty when the stack has no such live image.
     */
    public Optional<Result> retireNow(Stack stack, String image, String who, String reason) {
        return retireNow(Subject.of(stack), image, who, reason);
    }

    /** As {@link #retireNow(Stack, String, String, String)}, for a stack known by its recorded policy (removed ones too). */
    public Optional<Result> retireNow(Subject stack, String name, String who, String reason) {
        Plan plan = plan(stack);
        boolean byDigest = name.startsWith("sha256:");
        List<RetentionPlanner.Decision> named = plan.decisions().stream()
                .filter(d -> byDigest ? d.image().digest().equals(name) : d.image().tags().contains(name)).toList();
        if (named.isEmpty()) {
            return Optional.empty();
        }
        if (named.size() > 1) {
            throw new Refused("ambiguous-tag", stack.name() + ":" + name + " names " + named.size() + " live images ("
                    + named.stream().map(d -> d.image().digest()).collect(java.util.stream.Collectors.joining(", ")) + "); name one by its digest");
        }
        RetentionPlanner.Image image = named.get(0).image();
        if (history.stack(stack.name()).map(History.Stack::currentDigest).filter(image.digest()::equals).isPresent()) {
            throw new Refused("approved-image", stack.name() + ":" + name + " is the approved image (" + image.digest() + "); it is never retired");
        }
        if (image.pin() != null) {
            throw new Refused("pinned", stack.name() + ":" + name + " is pinned (" + image.pin() + "); unpin it first");
        }
        List<History.LiveTag> tags = history.liveTags(stack.name(), target.name()).stream().filter(t -> t.digest().equals(image.digest())).toList();
        tags.forEach(t -> history.retirementPlanned(t.id(), who, reason));
        List<String> retired = new ArrayList<>();
        Map<String, String> failed = new LinkedHashMap<>();
        delete(stack, tags, retired, failed);
        return Optional.of(new Result(plan, retired, List.of(), failed));
    }

    /** Deletes the tags' images by digest, then marks each tag's retirement done (or records why not). */
    private void delete(Subject stack, List<History.LiveTag> tags, List<String> done, Map<String, String> failed) {
        if (tags.isEmpty()) {
            return;
        }
        Map<String, List<History.LiveTag>> byDigest = new LinkedHashMap<>();
        tags.forEach(t -> byDigest.computeIfAbsent(t.digest(), d -> new ArrayList<>()).add(t));
        Map<String, String> errors = new LinkedHashMap<>();
        try {
            errors.putAll(target.delete(target.repository(stack.repository()), List.copyOf(byDigest.keySet())));
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
