package dev.kiln.schedule;

import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;

/** Re-reads the catalog on one instance of the cluster: schedules, stack records, definition changes. */
@DisallowConcurrentExecution
class CatalogSyncJob implements Job {

    private final Schedules schedules;

    CatalogSyncJob(Schedules schedules) {
        this.schedules = schedules;
    }

    @Override
    public void execute(JobExecutionContext context) {
        schedules.sync("catalog sync");
    }
}
