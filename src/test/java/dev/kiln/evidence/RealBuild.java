package dev.kiln.evidence;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogRevision;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import dev.kiln.rebuild.StackBuilder;
import dev.kiln.rebuild.StackLocker;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * A stack locked and built with Kiln's own wiring (the CLI's and the service's), and its evidence facts
 * filled the way the rebuild pipeline fills them.
 */
final class RealBuild {

    private final KilnConfiguration.Services services;
    private final Catalog catalog;

    /** @param mirror an archive URL and the URL to fetch it from instead, or null */
    RealBuild(Path catalogDir, Path dataDir, String target, String[] mirror) {
        StandardEnvironment settings = new StandardEnvironment();
        Map<String, Object> values = new java.util.HashMap<>(Map.of("kiln.data-dir", dataDir.toString(),
                "kiln.catalog", catalogDir.toString(), "kiln.build.target", target, "kiln.service.in-release-reuse", "0s"));
        if (mirror != null) {
            values.put("kiln.mirrors[0].archive", mirror[0]);
            values.put("kiln.mirrors[0].url", mirror[1]);
        }
        settings.getPropertySources().addFirst(new MapPropertySource("test", values));
        KilnProperties properties = Binder.get(settings).bindOrCreate("kiln", KilnProperties.class);
        services = KilnConfiguration.services(properties, Clock.systemUTC());
        catalog = Catalog.load(catalogDir);
    }

    Lock lock(String stack) {
        StackLocker.Outcome outcome = services.locker().resolve(catalog, stack(stack));
        if (!outcome.ok()) {
            throw new IllegalStateException(outcome.problems().toString());
        }
        return outcome.lock();
    }

    StackBuilder.Result build(String stack, Lock lock) {
        return services.builder().build(catalog, stack(stack), lock, services.target(), Optional.empty(), step -> { });
    }

    /** The facts of {@code result}, as Rebuilds knows them once the image is published. */
    BuildFacts facts(StackBuilder.Result result, long buildId, Instant started, BuildFacts.Previous previous) {
        Stack stack = stack(result.stack());
        String reference = result.published().reference();
        String repository = reference.substring(0, reference.length() - (":" + result.published().tag()).length());
        Optional<CatalogRevision> revision = CatalogRevision.of(catalog.directory());
        return new BuildFacts(stack, revision.map(CatalogRevision::commit).orElse(null),
                revision.flatMap(CatalogRevision::sourceUrl).orElse(null), result.lock(), result.composition(), repository,
                result.published().digest(), result.published().tag(), KilnConfiguration.kilnVersion(), "test-instance",
                "maxLayers=" + services.properties().build().maxLayers(), buildId, "manual", "cli:tester", started, Instant.now(),
                previous, List.of());
    }

    Stack stack(String name) {
        return catalog.stack(name).orElseThrow(() -> new IllegalStateException(catalog.problems(name).toString()));
    }
}
