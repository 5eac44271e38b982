package dev.kiln.cli;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
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
        try {
            KilnProperties properties = bind(invocation.springArgs());
            Commands commands = new Commands(KilnConfiguration.services(properties, Clock.systemUTC()));
            return commands.run(invocation, out, err);
        } catch (Invocation.UsageException e) {
            err.println("kiln: " + e.getMessage());
            return 64;
        } catch (BindException e) {
            err.println("kiln: bad setting " + e.getName() + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
            return 64;
        }
    }

    /** Settings for a one-shot command: --kiln.* arguments, then system properties, then KILN_* variables. */
    static KilnProperties bind(List<String> springArgs) {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new SimpleCommandLinePropertySource(springArgs.toArray(String[]::new)));
        return Binder.get(environment).bindOrCreate("kiln", KilnProperties.class);
    }
}
