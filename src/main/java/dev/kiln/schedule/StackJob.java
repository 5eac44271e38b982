package dev.kiln.schedule;

import dev.kiln.history.History;
import dev.kiln.rebuild.Rebuilds;
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
 * mid-build) first marks the dead instance's build failed, then builds again.
 */
@DisallowConcurrentExecution
class StackJob implements Job {

    private static final Logger log = LoggerFactory.getLogger(StackJob.class);
    static final String STACK = "stack";
    static final String BUILD = "build";
    static final String TRIGGER = "trigger";
    static final String WHO = "who";

    private final Rebuilds rebuilds;
    private final History history;

    StackJob(Rebuilds rebuilds, History history) {
        this.rebuilds = rebuilds;
        this.history = history;
    }

    @Override
    public void execute(JobExecutionContext context) {
        JobDataMap data = context.getMergedJobDataMap();
        String stack = data.getString(STACK);
        String who = "quartz " + context.getTrigger().getKey().getName() + " at " + context.getScheduledFireTime().toInstant();
        if (context.isRecovering()) {
            List<Long> abandoned = history.abandon(stack, rebuilds.instance(),
                    "abandoned: its Kiln instance stopped mid-build; recovered by " + rebuilds.instance());
            log.warn("{}: recovering a build the cluster lost (failed: {})", stack, abandoned);
            Long from = abandoned.isEmpty() ? null : abandoned.get(0);
            rebuilds.run(new Rebuilds.Request(stack, "recovery", who, null, from, Optional.empty(), Optional.empty()));
            return;
        }
        if (data.containsKey(BUILD)) {
            rebuilds.run(new Rebuilds.Request(stack, data.getString(TRIGGER), data.getString(WHO), data.getLong(BUILD), null,
                    Optional.empty(), Optional.empty()));
            return;
        }
        String trigger = data.containsKey(TRIGGER) ? data.getString(TRIGGER) : "schedule";
        rebuilds.run(Rebuilds.Request.of(stack, trigger, who));
    }
}
