package dev.kiln.schedule;

import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.CatalogRevision;
import dev.kiln.catalog.Stack;
import dev.kiln.history.History;
import dev.kiln.rebuild.Rebuilds;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TimeZone;
import javax.sql.DataSource;
import java.text.ParseException;
import java.util.Date;
import org.quartz.CronExpression;
import org.quartz.CronScheduleBuilder;
import org.quartz.CronTrigger;
import org.quartz.JobBuilder;
import org.quartz.JobDataMap;
import org.quartz.JobDetail;
import org.quartz.JobKey;
import org.quartz.JobPersistenceException;
import org.quartz.ObjectAlreadyExistsException;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.SimpleScheduleBuilder;
import org.quartz.SimpleTrigger;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.quartz.impl.matchers.GroupMatcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.context.annotation.Profile;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The cadence: one Quartz job per valid stack, fired by the stack's cron in its time zone, kept in
 * line with the catalog by a cluster-wide sync job. The job store is PostgreSQL and clustered, so each
 * fire runs on exactly one instance. A missed fire (every instance down at the time) runs once as soon
 * as an instance is back, however many were missed.
 */
@Component
@Profile("serve")
public class Schedules implements ApplicationRunner {

    private static final Logger log = LoggerFactory.getLogger(Schedules.class);
    static final String STACKS = "kiln-stacks";
    private static final JobKey SYNC = JobKey.jobKey("catalog-sync", "kiln");
    private static final JobKey RETIRE = JobKey.jobKey("retirement", "kiln");

    private final Scheduler scheduler;
    private final Rebuilds rebuilds;
    private final History history;
    private final KilnProperties properties;
    private final CatalogCache catalogs;
    private final TransactionTemplate transactions;

    Schedules(Scheduler scheduler, Rebuilds rebuilds, History history, KilnProperties properties, CatalogCache catalogs, DataSource dataSource) {
        this.scheduler = scheduler;
        this.rebuilds = rebuilds;
        this.history = history;
        this.properties = properties;
        this.catalogs = catalogs;
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /** Thrown through the transaction callback, which takes no checked exceptions. */
    private static final class Failed extends RuntimeException {
        Failed(SchedulerException cause) {
            super(cause);
        }
    }

    /**
     * Registers the catalog sync; its first run (on whichever instance) schedules the stacks. In one
     * transaction: Quartz's cluster lock is a row lock in the job store, which outside a transaction is
     * released the moment it is taken, so two instances starting together could both insert the job.
     */
    @Override
    public void run(ApplicationArguments args) throws SchedulerException {
        try {
            transactions.executeWithoutResult(status -> {
                try {
                    register();
                } catch (SchedulerException e) {
                    throw new Failed(e);
                }
            });
        } catch (Failed e) {
            throw (SchedulerException) e.getCause();
        }
    }

    private void register() throws SchedulerException {
        JobDetail job = JobBuilder.newJob(CatalogSyncJob.class).withIdentity(SYNC).storeDurably().build();
        long interval = properties.service().catalogSync().toMillis();
        Trigger trigger = TriggerBuilder.newTrigger().withIdentity(SYNC.getName(), SYNC.getGroup()).forJob(job).startNow()
                .withSchedule(SimpleScheduleBuilder.simpleSchedule().withIntervalInMilliseconds(interval).repeatForever()
                        .withMisfireHandlingInstructionNextWithRemainingCount())
                .build();
        scheduler.addJob(job, true);
        Trigger existing = scheduler.getTrigger(trigger.getKey());
        try {
            if (existing == null) {
                scheduler.scheduleJob(trigger);
            } else if (!(existing instanceof SimpleTrigger s) || s.getRepeatInterval() != interval) {
                scheduler.rescheduleJob(trigger.getKey(), trigger);
            }
        } catch (ObjectAlreadyExistsException e) {
            // another instance registered it at the same moment
        }
        JobDetail retire = JobBuilder.newJob(RetireJob.class).withIdentity(RETIRE).storeDurably().build();
        scheduler.addJob(retire, true);
        TriggerKey retireKey = TriggerKey.triggerKey(RETIRE.getName(), RETIRE.getGroup());
        TimeZone zone = Stack.Schedule.zoneOf(properties.retire().timeZone());
        Trigger current = scheduler.getTrigger(retireKey);
        if (!(current instanceof CronTrigger c && c.getCronExpression().equals(properties.retire().cron())
                && c.getTimeZone().getID().equals(zone.getID()))) {
            Trigger retireTrigger = TriggerBuilder.newTrigger().withIdentity(retireKey).forJob(retire)
                    .withSchedule(CronScheduleBuilder.cronSchedule(properties.retire().cron()).inTimeZone(zone)
                            .withMisfireHandlingInstructionFireAndProceed())
                    .build();
            try {
                if (current == null) {
                    scheduler.scheduleJob(retireTrigger);
                } else {
                    scheduler.rescheduleJob(retireKey, retireTrigger);
                }
            } catch (ObjectAlreadyExistsException e) {
                // another instance registered it at the same moment
            }
        }
        log.info("scheduler {} ({}): catalog sync every {}, retirement '{}' in {}", scheduler.getSchedulerName(),
                scheduler.getSchedulerInstanceId(), properties.service().catalogSync(), properties.retire().cron(), zone.getID());
    }

    /** Reads the catalog; schedules every valid stack, unschedules the rest, records what changed. */
    private volatile List<String> lastProblems = List.of();

    public void sync(String actor) {
        Catalog catalog = catalogs.current();
        if (!catalog.problems("").isEmpty()) {
            // an unreadable catalog (a failed mount, say) is not a catalog without stacks: change nothing
            log.error("catalog not synced, schedules kept as they are: {}", catalog.problems(""));
            return;
        }
        // said once, not on every sync: a catalog read every minute would repeat the same problems all day
        List<String> problems = catalog.problems().stream().map(Object::toString).toList();
        if (!problems.equals(lastProblems)) {
            problems.forEach(p -> log.warn("catalog problem: {}", p));
            lastProblems = problems;
        }
        String revision = CatalogRevision.of(catalog.directory()).map(CatalogRevision::commit).orElse(null);
        String who = actor + (revision == null ? "" : " @" + revision);
        try {
            Set<JobKey> wanted = new HashSet<>();
            for (Stack stack : catalog.stacks()) {
                wanted.add(jobKey(stack.name()));
                try {
                    schedule(stack);
                } catch (SchedulerException e) {
                    // one stack's schedule never stops the others'
                    log.error("{}: not scheduled: {}", stack.name(), e.getMessage());
                }
            }
            for (JobKey key : scheduler.getJobKeys(GroupMatcher.jobGroupEquals(STACKS))) {
                if (!wanted.contains(key)) {
                    scheduler.deleteJob(key);
                    log.info("{}: unscheduled (not a valid stack in the catalog now)", key.getName());
                }
            }
        } catch (SchedulerException e) {
            throw new IllegalStateException("scheduling the catalog: " + e.getMessage(), e);
        }
        List<String> changed = history.syncCatalog(catalog.stacks().stream()
                .map(s -> new History.StackState(s.name(), Catalog.digest(s), s.target().repository(), s.owner(),
                        new History.Policy(s.retention().keepLast(), s.retention().keepDays(), s.retention().keepPulledDays()))).toList(),
                Set.copyOf(catalog.names()), who);
        if (properties.service().buildOnCatalogChange()) {
            for (String name : changed) {
                History.Ticket ticket = trigger(name, "catalog-change", who);
                log.info("{}: definition new or changed; build {}{}", name, ticket.id(), ticket.joined() ? " (joined)" : "");
            }
        }
    }

    /**
     * Asks for a build of {@code stack} now. It joins the stack's queued or running build if there is
     * one; otherwise it is queued and runs on whichever instance Quartz picks.
     */
    public History.Ticket trigger(String stack, String kind, String who) {
        History.Ticket ticket = rebuilds.enqueue(stack, kind, who);
        if (ticket.joined()) {
            return ticket;
        }
        try {
            scheduler.triggerJob(jobKey(stack), new JobDataMap(Map.of(StackJob.BUILD, ticket.id(), StackJob.TRIGGER, kind, StackJob.WHO, who)));
        } catch (SchedulerException e) {
            history.failed(ticket.id(), "could not be scheduled: " + e.getMessage());
            throw new IllegalStateException(stack + ": build " + ticket.id() + " could not be scheduled: " + e.getMessage(), e);
        }
        return ticket;
    }

    public Optional<Instant> nextFire(String stack) {
        try {
            Trigger trigger = scheduler.getTrigger(TriggerKey.triggerKey(stack, STACKS));
            return Optional.ofNullable(trigger).map(Trigger::getNextFireTime).map(d -> d.toInstant());
        } catch (SchedulerException e) {
            return Optional.empty();
        }
    }

    /** Whether the stack has a job (a valid stack the sync has seen). */
    public boolean scheduled(String stack) {
        try {
            return scheduler.checkExists(jobKey(stack));
        } catch (SchedulerException e) {
            return false;
        }
    }

    private void schedule(Stack stack) throws SchedulerException {
        JobKey key = jobKey(stack.name());
        if (!scheduler.checkExists(key)) {
            JobDetail job = JobBuilder.newJob(StackJob.class).withIdentity(key).storeDurably().requestRecovery()
                    .usingJobData(StackJob.STACK, stack.name()).build();
            try {
                scheduler.addJob(job, false);
            } catch (ObjectAlreadyExistsException e) {
                // added by another instance meanwhile
            } catch (JobPersistenceException e) {
                // or inserted at the same moment (the API's sync and the sync job): a key violation
                if (!scheduler.checkExists(key)) {
                    throw e;
                }
            }
        }
        TriggerKey triggerKey = TriggerKey.triggerKey(stack.name(), STACKS);
        TimeZone zone = stack.schedule().zone();
        Trigger existing = scheduler.getTrigger(triggerKey);
        if (existing instanceof CronTrigger cron && cron.getCronExpression().equals(stack.schedule().cron())
                && cron.getTimeZone().getID().equals(zone.getID())) {
            return;
        }
        if (existing == null && !firesAgain(stack.schedule().cron(), zone)) {
            // a cron that has fired its last (a year in the past): its trigger is gone, and must not be made again
            return;
        }
        CronTrigger trigger = TriggerBuilder.newTrigger().withIdentity(triggerKey).forJob(key)
                .withSchedule(CronScheduleBuilder.cronSchedule(stack.schedule().cron()).inTimeZone(zone)
                        .withMisfireHandlingInstructionFireAndProceed())
                .build();
        if (existing == null) {
            try {
                scheduler.scheduleJob(trigger);
            } catch (ObjectAlreadyExistsException e) {
                scheduler.rescheduleJob(triggerKey, trigger);
            } catch (JobPersistenceException e) {
                // stored at the same moment by a concurrent sync (a key violation): the same cron, kept
                if (scheduler.getTrigger(triggerKey) == null) {
                    throw e;
                }
            }
        } else {
            scheduler.rescheduleJob(triggerKey, trigger);
        }
        log.info("{}: scheduled '{}' in {}, next at {}", stack.name(), stack.schedule().cron(), zone.getID(),
                trigger.getNextFireTime() == null ? scheduler.getTrigger(triggerKey).getNextFireTime() : trigger.getNextFireTime());
    }

    /** Whether the cron fires again from now on: one with a past year has fired its last. */
    private static boolean firesAgain(String cron, TimeZone zone) {
        try {
            CronExpression expression = new CronExpression(cron);
            expression.setTimeZone(zone);
            return expression.getNextValidTimeAfter(new Date()) != null;
        } catch (ParseException e) {
            return true; // the catalog checked it; Quartz says what is wrong
        }
    }

    static JobKey jobKey(String stack) {
        return JobKey.jobKey(stack, STACKS);
    }
}
