package dev.kiln.schedule;

import dev.kiln.KilnProperties;
import dev.kiln.history.History;
import dev.kiln.rebuild.Outage;
import dev.kiln.rebuild.Rebuilds;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobDataMap;
import org.quartz.JobExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stack's tick. Quartz runs it on exactly one instance of the cluster, never twice at once for a
 * stack. A manual trigger carries the id of the build it queued; a recovered run (its instance died
 * mid-build) first marks the dead instance's build failed, then builds again; a build an outage
 * interrupted is retried (see {@link Retries}).
 */
@DisallowConcurrentExecution
class StackJob implements Job {

    private static final Logger log = LoggerFactory.getLogger(StackJob.class);
    static final String STACK = "stack";
    static final String BUILD = "build";
    static final String TRIGGER = "trigger";
    static final String WHO = "who";
    static final String RETRY_OF = "retryOf";
    static final String ATTEMPT = "attempt";

    private final Rebuilds rebuilds;
    private final History history;
    private final Retries retries;
    private final KilnProperties.Service settings;

    StackJob(Rebuilds rebuilds, History history, Retries retries, KilnProperties properties) {
        this.rebuilds = rebuilds;
        this.history = history;
        this.retries = retries;
        this.settings = properties.service();
    }

    @Override
    public void execute(JobExecutionContext context) {
        JobDataMap data = context.getMergedJobDataMap();
        String stack = data.getString(STACK);
        String who = data.containsKey(WHO) ? data.getString(WHO)
                : "quartz " + context.getTrigger().getKey().getName() + " at " + context.getScheduledFireTime().toInstant();
        int attempt = data.containsKey(ATTEMPT) ? data.getInt(ATTEMPT) : 0;
        Rebuilds.Outcome outcome;
        try {
            outcome = run(context, data, stack, who, attempt);
        } catch (RuntimeException e) {
            if (!Outage.database(e)) {
                throw e;
            }
            retries.afterUnrecorded(stack, data, who, attempt, context.getFireInstanceId(), e);
            return;
        }
        if (outcome != null) {
            retries.after(stack, who, outcome, attempt);
        }
    }

    /**
     * Quartz takes an instance for dead when it misses its check-ins, which a live instance also does while
     * the database is away. Kiln's heartbeat is the better witness: as long as the stack's build is
     * reported again by its instance within every two heartbeats, that instance is alive and the recovery
     * waits for its build instead of abandoning it. True when that instance finished the build itself:
     * nothing to recover.
     */
    private boolean stillReported(String stack) {
        Optional<History.Running> running = history.running(stack);
        if (running.isEmpty() || rebuilds.instance().equals(running.get().instance())) {
            return false;
        }
        boolean waited = false;
        try {
            while (true) {
                Instant seen = running.get().heartbeatAt();
                Thread.sleep(settings.heartbeat().multipliedBy(2).toMillis());
                running = history.running(stack);
                if (running.isEmpty()) {
                    log.info("{}: the build ended on its own instance; nothing to recover", stack);
                    return true;
                }
                if (!running.get().heartbeatAt().isAfter(seen)) {
                    return false; // quiet for two heartbeats: dead, as Quartz says
                }
                if (!waited) {
                    log.warn("{}: Quartz recovers the job of instance {}, which still reports build {}; waiting for it", stack,
                            running.get().instance(), running.get().id());
                    waited = true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    private Rebuilds.Outcome run(JobExecutionContext context, JobDataMap data, String stack, String who, int attempt) {
        if (context.isRecovering()) {
            if (stillReported(stack)) {
                return null;
            }
            List<Long> abandoned = history.abandon(stack, rebuilds.instance(),
                    "abandoned: its Kiln instance stopped mid-build; recovered by " + rebuilds.instance());
            log.warn("{}: recovering a build the cluster lost (failed: {})", stack, abandoned);
            Long from = abandoned.isEmpty() ? null : abandoned.get(0);
            return rebuilds.run(new Rebuilds.Request(stack, "recovery", who, null, from, Optional.empty(), Optional.empty()));
        }
        if (data.containsKey(BUILD)) {
            return rebuilds.run(new Rebuilds.Request(stack, data.getString(TRIGGER), who, data.getLong(BUILD), null,
                    Optional.empty(), Optional.empty()));
        }
        String trigger = data.containsKey(TRIGGER) ? data.getString(TRIGGER) : "schedule";
        if (trigger.equals("retry")) {
            long interrupted = data.getLong(RETRY_OF);
            if (history.rebuiltSince(stack, interrupted)) {
                log.info("{}: retry {} of build {} not needed, a later build has finished", stack, attempt, interrupted);
                return null;
            }
            return rebuilds.run(Rebuilds.Request.retry(stack, who, interrupted, attempt));
        }
        return rebuilds.run(Rebuilds.Request.of(stack, trigger, who));
    }
}
