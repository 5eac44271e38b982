package dev.kiln.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnProperties;
import dev.kiln.database.Database;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.quartz.Scheduler;
import org.quartz.impl.matchers.GroupMatcher;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.quartz.SchedulerFactoryBean;

/**
 * Two instances of the service starting at the same moment against one PostgreSQL job store (a
 * rolling deploy, or ServiceIT's two processes): both register the catalog sync and the retirement
 * job, and neither may fail on the other's insert.
 */
class SchedulesIT {

    @Test
    void twoInstancesStartingTogetherRegisterEachJobOnce(@TempDir Path dir) throws Exception {
        try (Database db = Database.open(new Database.Settings(null, null, null), dir, 8).migrate()) {
            KilnProperties properties = Binder.get(new StandardEnvironment()).bindOrCreate("kiln", KilnProperties.class);
            List<SchedulerFactoryBean> factories = List.of(factory(db.dataSource(), "kiln-a"), factory(db.dataSource(), "kiln-b"));
            List<Schedules> instances = new ArrayList<>();
            for (SchedulerFactoryBean f : factories) {
                instances.add(new Schedules(f.getScheduler(), null, null, properties, new dev.kiln.catalog.CatalogCache(properties.catalog(), dev.kiln.KilnConfiguration.catalogRules(properties)), db.dataSource()));
            }
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                // the race is narrow: start together many times over, from an empty job store each time
                for (int round = 0; round < 30; round++) {
                    for (String table : List.of("qrtz_simple_triggers", "qrtz_cron_triggers", "qrtz_triggers", "qrtz_job_details")) {
                        jdbc.sql("DELETE FROM " + table).update();
                    }
                    CyclicBarrier together = new CyclicBarrier(2);
                    List<Future<?>> runs = new ArrayList<>();
                    for (Schedules s : instances) {
                        runs.add(pool.submit(() -> {
                            together.await();
                            s.run(null);
                            return null;
                        }));
                    }
                    for (Future<?> run : runs) {
                        run.get();  // rethrows an instance's failure to start
                    }
                    Scheduler scheduler = factories.get(0).getScheduler();
                    assertThat(scheduler.getJobKeys(GroupMatcher.jobGroupEquals("kiln"))).hasSize(2);
                    assertThat(scheduler.getTriggerKeys(GroupMatcher.triggerGroupEquals("kiln"))).hasSize(2);
                }
            } finally {
                pool.shutdownNow();
                for (SchedulerFactoryBean f : factories) {
                    f.destroy();
                }
            }
        }
    }

    /** A clustered Quartz on the job store, configured as application.yaml configures the service's (not started). */
    private static SchedulerFactoryBean factory(DataSource dataSource, String instanceId) throws Exception {
        Properties quartz = new Properties();
        quartz.put("org.quartz.scheduler.instanceName", "kiln");
        quartz.put("org.quartz.scheduler.instanceId", instanceId);
        quartz.put("org.quartz.jobStore.isClustered", "true");
        quartz.put("org.quartz.jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
        quartz.put("org.quartz.threadPool.threadCount", "1");
        SchedulerFactoryBean factory = new SchedulerFactoryBean();
        factory.setDataSource(dataSource);
        factory.setQuartzProperties(quartz);
        factory.setAutoStartup(false);
        factory.setBeanName(instanceId);
        factory.afterPropertiesSet();
        return factory;
    }
}
