package dev.kiln.schedule;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.Stack;
import dev.kiln.retire.Retirer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Retirement on its own schedule, on one instance of the cluster; one stack's failure never stops the others. */
@DisallowConcurrentExecution
class RetireJob implements Job {

    private static final Logger log = LoggerFactory.getLogger(RetireJob.class);

    private final Retirer retirer;
    private final CatalogCache catalogs;

    RetireJob(Retirer retirer, CatalogCache catalogs) {
        this.retirer = retirer;
        this.catalogs = catalogs;
    }

    @Override
    public void execute(JobExecutionContext context) {
        String who = "quartz retirement at " + context.getScheduledFireTime().toInstant();
        Catalog catalog = catalogs.current();
        List<Retirer.Subject> subjects = new ArrayList<>(catalog.stacks().stream().map(Retirer.Subject::of).toList());
        if (catalog.problems("").isEmpty()) {
            // removed (or now broken) stacks by the policy they last had; not when the catalog itself is unreadable
            subjects.addAll(retirer.outsideTheCatalog(catalog.stacks().stream().map(Stack::name).collect(Collectors.toSet())));
        }
        for (Retirer.Subject stack : subjects) {
            try {
                retirer.retire(stack, who);
            } catch (RuntimeException e) {
                log.error("{}: retirement failed: {}", stack.name(), e.getMessage(), e);
            }
        }
    }
}
