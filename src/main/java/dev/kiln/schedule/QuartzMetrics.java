package dev.kiln.schedule;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.quartz.JobExecutionContext;
import org.quartz.JobExecutionException;
import org.quartz.JobKey;
import org.quartz.Trigger;
import org.quartz.Trigger.CompletedExecutionInstruction;
import org.quartz.listeners.JobListenerSupport;
import org.quartz.listeners.TriggerListenerSupport;
import org.springframework.boot.quartz.autoconfigure.SchedulerFactoryBeanCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;

/**
 * Quartz's work on this instance as metrics: each job run's duration and result, how late it started
 * after its fire time, misfires, and how many jobs run now. Job names are the stacks', the catalog sync's
 * and the retirement's: as many series as stacks, like the build metrics.
 */
@Configuration(proxyBeanMethods = false)
@Profile("serve")
class QuartzMetrics {

    @Bean
    SchedulerFactoryBeanCustomizer quartzJobMetrics(MeterRegistry meters) {
        AtomicInteger running = new AtomicInteger();
        Gauge.builder("kiln.quartz.jobs.running", running, AtomicInteger::get)
                .description("Quartz jobs running on this instance now").register(meters);
        JobListenerSupport jobs = new JobListenerSupport() {
            @Override
            public String getName() {
                return "kiln-metrics";
            }

            @Override
            public void jobToBeExecuted(JobExecutionContext context) {
                running.incrementAndGet();
                if (context.getScheduledFireTime() != null) {
                    Timer.builder("kiln.quartz.job.start.delay").description("How late a Quartz job started after its scheduled fire time")
                            .tags(tags(context.getJobDetail().getKey())).register(meters)
                            .record(Duration.ofMillis(Math.max(0, System.currentTimeMillis() - context.getScheduledFireTime().getTime())));
                }
            }

            @Override
            public void jobWasExecuted(JobExecutionContext context, JobExecutionException failure) {
                running.decrementAndGet();
                Timer.builder("kiln.quartz.job.duration").description("Quartz job runs on this instance, by job and result")
                        .tags(tags(context.getJobDetail().getKey())).tag("result", failure == null ? "success" : "failure").register(meters)
                        .record(Duration.ofMillis(context.getJobRunTime()));
            }

            @Override
            public void jobExecutionVetoed(JobExecutionContext context) {
                Counter.builder("kiln.quartz.job.vetoed").description("Quartz job runs vetoed before they started")
                        .tags(tags(context.getJobDetail().getKey())).register(meters).increment();
            }
        };
        TriggerListenerSupport triggers = new TriggerListenerSupport() {
            @Override
            public String getName() {
                return "kiln-metrics";
            }

            @Override
            public void triggerMisfired(Trigger trigger) {
                Counter.builder("kiln.quartz.misfires").description("Quartz fires missed (every instance down or busy), handled by the misfire rule")
                        .tags(tags(trigger.getJobKey())).register(meters).increment();
            }

            @Override
            public void triggerComplete(Trigger trigger, JobExecutionContext context, CompletedExecutionInstruction instruction) {
                // counted by the job listener
            }
        };
        return factory -> {
            factory.setGlobalJobListeners(jobs);
            factory.setGlobalTriggerListeners(triggers);
        };
    }

    private static String[] tags(JobKey key) {
        return new String[]{"group", key.getGroup(), "job", key.getName()};
    }
}
