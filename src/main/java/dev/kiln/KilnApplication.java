package dev.kiln;

import dev.kiln.cli.KilnCommandLine;
import dev.kiln.database.Database;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** One jar, service and CLI: {@code java -jar kiln.jar [validate|lock|build|retire|serve]}. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class KilnApplication {

    public static void main(String[] args) {
        Database.exitingAfterClose();
        int code = KilnCommandLine.run(KilnApplication.class, args, System.out, System.err);
        if (code >= 0) {
            System.exit(code);
        }
    }
}
