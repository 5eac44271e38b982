package dev.kiln.cli;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.database.Database;
import java.io.PrintStream;
import java.time.Clock;
import java.util.List;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.SimpleCommandLinePropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * Entry point shared by the service and the CLI. {@code serve} starts the Spring application; every
 * other command binds the same settings, runs once without an application context and returns its
 * exit code.
 */
public final class KilnCommandLine {

    private KilnCommandLine() {
    }

    /** Runs the command; returns its exit code, or -1 when the service was started and keeps running. */
    public static int run(Class<?> application, String[] args, PrintStream out, PrintStream err) {
        Invocation invocation;
        try {
            invocation = Invocation.parse(args);
        } catch (Invocation.UsageException e) {
            err.println("kiln: " + e.getMessage());
            return 64;
        }
        if (invocation.flags().contains("help")) {
            out.print(Help.of(invocation.command()));
            return 0;
        }
        if (invocation.command().equals("serve")) {
            SpringApplication app = new SpringApplication(application);
            app.setAdditionalProfiles("serve");
            app.run(invocation.springArgs().toArray(String[]::new));
            return -1;
        }
        quietLogging();
        try {
            StandardEnvironment environment = environment(invocation.springArgs());
            KilnProperties properties = Binder.get(environment).bindOrCreate("kiln", KilnProperties.class);
            Database.Settings database = new Database.Settings(environment.getProperty("spring.datasource.url"),
                    environment.getProperty("spring.datasource.username"), environment.getProperty("spring.datasource.password"),
                    environment.getProperty("spring.flyway.user"), environment.getProperty("spring.flyway.password"));
            var opening = Commands.WITH_DATABASE.contains(invocation.command()) ? Commands.open(database, properties.dataDir()) : null;
            Commands commands = null;
            try {
                commands = new Commands(KilnConfiguration.services(properties, Clock.systemUTC()), database,
                        environment.getProperty("kiln.database.allow-privileged-role", Boolean.class, false), opening);
                return commands.run(invocation, out, err);
            } finally {
                if (commands != null) {
                    commands.closeUnused();
                } else {
                    Commands.close(opening);
                }
            }
        } catch (Invocation.UsageException e) {
            err.println("kiln: " + e.getMessage());
            return 64;
        } catch (BindException e) {
            err.println("kiln: bad setting " + e.getName() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
            return 64;
        }
    }

    /**
     * A one-shot command reports on stdout and stderr itself; library logging (connection pool, Flyway,
     * each build step) stays at warnings unless KILN_CLI_LOG names another level (info, debug).
     */
    private static void quietLogging() {
        if (org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
            String level = System.getenv("KILN_CLI_LOG");
            root.setLevel(ch.qos.logback.classic.Level.toLevel(level, ch.qos.logback.classic.Level.WARN));
        }
    }

    /** Settings for a one-shot command: --NAME=VALUE arguments, then system properties, then environment variables. */
    static StandardEnvironment environment(List<String> springArgs) {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new SimpleCommandLinePropertySource(springArgs.toArray(String[]::new)));
        return environment;
    }
}
