package dev.kiln.schedule;

import dev.kiln.KilnProperties;
import dev.kiln.history.History;
import dev.kiln.rebuild.Outage;
import dev.kiln.rebuild.Rebuilds;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.quartz.JobDataMap;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.SimpleScheduleBuilder;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Profile;
import org.springframework.stereotype.Component;

/**
 * Retries a build that an outage of the database, the registry or the archive interrupted, instead of
 * leaving the stack to its next cron firing. A retry is a one-shot Quartz trigger of the stack's job, in
 * the clustered job store (so it outlives this instance), at a delay that doubles per attempt up to a
 * bound, for a bounded number of attempts (see {@link KilnProperties.Retry}). When the database was the
 * peer that went away, the job first waits for it (probing with back-off), records the interrupted
 * build's failure, and retries at once: the database answering is the sign the peer is back.
 */
@Component
@Profile("serve")
class Retries {

    private static final Logger log = LoggerFactory.getLogger(Retries.class);
    static final String GROUP = "kiln-retries";
    private static final Duration PROBE_CAP = Duration.ofSeconds(10);

    private final Scheduler scheduler;
    private final History history;
    private final KilnProperties.Retry settings;

    Retries(Scheduler scheduler, History history, KilnProperties properties) {
        this.scheduler = scheduler;
        this.history = history;
        this.settings = properties.service().retry();
    }

    /** Retry {@code attempt} of {@code stack}'s build {@code interrupted}, for {@code who} asked for the first. */
    static JobDataMap retry(String who, long interrupted, int attempt) {
        JobDataMap data = new JobDataMap();
        data.put(StackJob.TRIGGER, "retry");
        data.put(StackJob.WHO, who);
        data.put(StackJob.RETRY_OF, interrupted);
        data.put(StackJob.ATTEMPT, attempt);
        return data;
    }

    /** After a build of {@code stack} ended: if an outage ended it, its retry is scheduled (within the bounds). */
    void after(String stack, String who, Rebuilds.Outcome outcome, int attempt) {
        if (outcome.outage() == null) {
            return;
        }
        if (outcome.outage() == Outage.DATABASE) {
            if (!awaitDatabase(stack)) {
                return;
            }
            // recorded only now if the database was gone when the build failed (a no-op otherwise)
            history.failed(outcome.build(), outcome.detail());
        }
        int next = attempt + 1;
        if (next > settings.attempts()) {
            log.warn("{}: build {} was interrupted ({} is unavailable) and {} retries are used up; the next scheduled tick builds it",
                    stack, outcome.build(), outcome.outage(), settings.attempts());
            return;
        }
        Duration delay = outcome.outage() == Outage.DATABASE ? Duration.ZERO : settings.after(next);
        schedule(stack, stack + ".retry-of-" + outcome.build(), retry(who, outcome.build(), next), delay);
        log.info("{}: build {} was interrupted ({} is unavailable); retry {} of {} in {}", stack, outcome.build(), outcome.outage(), next,
                settings.attempts(), delay);
    }

    /**
     * The database went away before the fire could open or record its build: once it answers again, the
     * same fire runs again (its data, one attempt more), unless the attempts are used up.
     */
    void afterUnrecorded(String stack, JobDataMap fired, String who, int attempt, String fireId, RuntimeException e) {
        log.warn("{}: the database is unavailable ({}); waiting for it", stack, e.getMessage());
        if (!awaitDatabase(stack) || attempt + 1 > settings.attempts()) {
            return;
        }
        JobDataMap again = new JobDataMap(fired.getWrappedMap());
        again.remove(StackJob.STACK);
        again.put(StackJob.WHO, who);
        again.put(StackJob.ATTEMPT, attempt + 1);
        schedule(stack, stack + ".again-" + fireId, again, Duration.ZERO);
    }

    /** Probes the database with back-off until it answers, for at most the whole retry window. */
    private boolean awaitDatabase(String stack) {
        Duration budget = settings.maxDelay().multipliedBy(Math.max(1, settings.attempts()));
        Instant deadline = Instant.now().plus(budget);
        Duration wait = Duration.ofSeconds(1);
        while (!history.reachable()) {
            if (Instant.now().isAfter(deadline)) {
                log.error("{}: the database did not come back within {}; the next scheduled tick builds it", stack, budget);
                return false;
            }
            try {
                Thread.sleep(wait.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            wait = wait.multipliedBy(2).compareTo(PROBE_CAP) > 0 ? PROBE_CAP : wait.multipliedBy(2);
        }
        log.info("{}: the database answers again", stack);
        return true;
    }

    private void schedule(String stack, String name, JobDataMap data, Duration delay) {
        // a key of its own per interrupted build: a one-shot trigger is deleted by key when its job completes
        Trigger trigger = TriggerBuilder.newTrigger().withIdentity(TriggerKey.triggerKey(name, GROUP)).forJob(Schedules.jobKey(stack))
                .usingJobData(data).startAt(Date.from(Instant.now().plus(delay)))
                .withSchedule(SimpleScheduleBuilder.simpleSchedule().withMisfireHandlingInstructionFireNow()).build();
        try {
            if (!scheduler.checkExists(trigger.getKey())) {
                scheduler.scheduleJob(trigger);
            }
        } catch (SchedulerException e) {
            log.error("{}: could not schedule {}: {}", stack, name, e.getMessage());
        }
    }
}
