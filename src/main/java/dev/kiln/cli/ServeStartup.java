package dev.kiln.cli;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.sign.SignException;
import dev.kiln.catalog.Catalog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.context.annotation.Profile;
import org.springframework.stereotype.Component;

/**
 * In service mode: reads the catalog at start and says which stacks are valid and which are not, and
 * whether builds will be signed (and with which key) or not.
 */
@Component
@Profile("serve")
class ServeStartup implements ApplicationRunner {

    private static final Logger log = LoggerFactory.getLogger(ServeStartup.class);

    private final KilnProperties properties;
    private final KilnConfiguration.Services services;

    ServeStartup(KilnProperties properties, KilnConfiguration.Services services) {
        this.properties = properties;
        this.services = services;
    }

    @Override
    public void run(ApplicationArguments args) {
        Catalog catalog = Catalog.load(properties.catalog(), dev.kiln.KilnConfiguration.catalogRules(properties));
        catalog.problems().forEach(p -> log.warn("catalog problem: {}", p));
        log.info("catalog {}: {} valid stack(s) {}, {} invalid", catalog.directory().toAbsolutePath(),
                catalog.stacks().size(), catalog.stacks().stream().map(s -> s.name()).toList(),
                catalog.names().size() - catalog.stacks().size());
        if (services.signingKey().isEmpty()) {
            log.warn("no signing key (kiln.signing.key): images are published unsigned and their builds recorded as unsigned");
        } else {
            try {
                log.info("signing with key {} ({})", services.signingKey().get().id(), services.signingKey().get().description());
            } catch (SignException e) {
                log.error("the signing key cannot be used: {}; every build fails until it can, nothing is published unsigned", e.getMessage());
            }
        }
    }
}
