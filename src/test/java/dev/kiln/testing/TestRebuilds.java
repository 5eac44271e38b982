package dev.kiln.testing;

import dev.kiln.KilnConfiguration;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.PackageSightings;
import dev.kiln.history.RebaseGrants;
import dev.kiln.publish.ImageTarget;
import dev.kiln.rebuild.Attester;
import dev.kiln.rebuild.BuildRecorder;
import dev.kiln.rebuild.BuildSettings;
import dev.kiln.rebuild.Rebuilds;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import javax.sql.DataSource;

/** The rebuild pipeline wired as the service wires it, for tests that drive builds without a service. */
public final class TestRebuilds {

    private TestRebuilds() {
    }

    /** Builds the stacks of {@code catalog} to {@code target} as {@code instance}, signing with {@code attester}, recording in {@code dataSource}. */
    public static Rebuilds of(Path catalog, KilnConfiguration.Services services, History history, ImageTarget target, String instance,
                              Attester attester, DataSource dataSource) {
        return new Rebuilds(new CatalogCache(catalog, Catalog.Rules.DEFAULT), services.locker(), services.builder(), history, target, instance,
                KilnConfiguration.kilnVersion(), new BuildSettings(100, 1 << 20, 1, ""), new SimpleMeterRegistry(), Duration.ofMinutes(30),
                attester, new BuildRecorder(new BuildRecords(dataSource), new PackageSightings(dataSource)), new RebaseGrants(dataSource));
    }
}
