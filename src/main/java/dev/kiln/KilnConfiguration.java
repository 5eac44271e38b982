package dev.kiln;

import dev.kiln.debian.DebianArchive;
import dev.kiln.debian.JsonFileReleaseMemory;
import dev.kiln.debian.ReleaseMemory;
import dev.kiln.history.JdbcReleaseMemory;
import dev.kiln.debian.PackageCache;
import dev.kiln.debian.PackageResolver;
import dev.kiln.ecr.Ecr;
import dev.kiln.ecr.EcrTarget;
import dev.kiln.history.AuditChain;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.PackageSightings;
import dev.kiln.image.Composer;
import dev.kiln.image.LayerCache;
import dev.kiln.image.UnpackCache;
import dev.kiln.publish.BlobLocations;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.LocalLayoutTarget;
import dev.kiln.publish.Publisher;
import dev.kiln.publish.RegistryLogin;
import dev.kiln.publish.RegistryTarget;
import dev.kiln.publish.Target;
import dev.kiln.rebuild.BuildRecorder;
import dev.kiln.rebuild.Rebuilds;
import dev.kiln.rebuild.StackBuilder;
import dev.kiln.rebuild.StackLocker;
import dev.kiln.retire.Retirer;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.sql.DataSource;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires the capabilities. The service gets them as beans; the one-shot CLI commands call
 * {@link #services} directly, because starting an application context would triple their run time.
 */
@Configuration(proxyBeanMethods = false)
public class KilnConfiguration {

    /**
     * What the commands need, built from the settings alone (no network: ECR is only reached when a
     * build or retirement needs it). The image side (composer, publisher, ECR client) is wired on first
     * use: {@code kiln lock} and {@code kiln validate} never load it, which is a third of their start-up.
     */
    public static final class Services {
        private final KilnProperties properties;
        private final StackLocker locker;
        private final PackageCache packages;
        private final Clock clock;
        private ImageTarget target;
        private StackBuilder builder;

        private Services(KilnProperties properties, StackLocker locker, PackageCache packages, Clock clock) {
            this.properties = properties;
            this.locker = locker;
            this.packages = packages;
            this.clock = clock;
        }

        public KilnProperties properties() {
            return properties;
        }

        public StackLocker locker() {
            return locker;
        }

        public PackageCache packages() {
            return packages;
        }

        /** The configured target's adapter (an ECR target reaches ECR only when first used). */
        public synchronized ImageTarget target() {
            if (target == null) {
                target = imageTarget(Target.parse(properties.build().target()), properties, clock);
            }
            return target;
        }

        public synchronized StackBuilder builder() {
            if (builder == null) {
                KilnProperties.Build build = properties.build();
                LayerCache layers = new LayerCache(properties.dataDir().resolve("cache/layers"), build.layerCacheKeep(), clock,
                        build.compressionLevel());
                UnpackCache unpacks = new UnpackCache(properties.dataDir().resolve("cache/unpacked"), build.layerCacheKeep(), clock);
                builder = new StackBuilder(packages, new Composer(build.maxLayers(), build.largePackageBytes(), layers, unpacks),
                        new Publisher(clock), sourceDateEpoch());
            }
            return builder;
        }
    }

    /** The adapter for a target: the local OCI layout, an OCI registry, or ECR. */
    public static ImageTarget imageTarget(Target target, KilnProperties properties, Clock clock) {
        BlobLocations locations = new BlobLocations(properties.dataDir().resolve("cache/registry-blobs"));
        Set<String> insecure = Set.copyOf(properties.build().insecureRegistries());
        if (target instanceof Target.Registry registry) {
            return new RegistryTarget(registry.toString(), registry.host(), registry.namespace(),
                    registry.loopback() || insecure.contains(registry.host()), RegistryLogin.NONE, locations);
        }
        if (target instanceof Target.Ecr ecr) {
            KilnProperties.Ecr settings = properties.ecr();
            Ecr api = Ecr.create(settings.region(), settings.endpoint(), new Ecr.Settings(settings.exclusions(), settings.scanOnPush(),
                    settings.kmsKey(), settings.tags(), settings.registry()), clock);
            return new EcrTarget(api, ecr, insecure, locations, settings.scanGateSeverity(), settings.scanTimeout());
        }
        return new LocalLayoutTarget(properties.dataDir().resolve("store"), clock);
    }

    /** The CLI's wiring: the release memory is a file in the data directory. */
    public static Services services(KilnProperties properties, Clock clock) {
        return services(properties, clock, new JsonFileReleaseMemory(properties.dataDir().resolve("state")));
    }

    /** @param memory the newest Release dates accepted before (the service keeps them in PostgreSQL) */
    public static Services services(KilnProperties properties, Clock clock, ReleaseMemory memory) {
        DebianArchive archive = debianArchive(httpClient(), properties, clock, memory);
        PackageCache packages = new PackageCache(archive, properties.dataDir().resolve("cache"));
        return new Services(properties, new StackLocker(archive, new PackageResolver(), clock), packages, clock);
    }

    /**
     * The rebuild service over the history in {@code dataSource}, running builds as {@code instance}; each
     * build's measurement and documents are recorded there too.
     */
    public static Rebuilds rebuilds(Services services, DataSource dataSource, String instance, MeterRegistry meters) {
        History history = new History(dataSource);
        KilnProperties properties = services.properties();
        KilnProperties.Build build = properties.build();
        String sourceDate = System.getenv("SOURCE_DATE_EPOCH");
        return new Rebuilds(properties.catalog(), services.locker(), services.builder(), history, services.target(),
                instance, kilnVersion(), "maxLayers=" + build.maxLayers() + " largePackageBytes=" + build.largePackageBytes()
                + " gzip=" + build.compressionLevel()
                + " sourceDateEpoch=" + (sourceDate == null ? "" : sourceDate.strip()), meters, catalogRules(properties),
                properties.service().publishTimeout(),
                new BuildRecorder(new BuildRecords(dataSource), new PackageSightings(dataSource)));
    }


    /** The rules every reader of the catalog holds it to (the CLI, the scheduler, the pipeline). */
    public static dev.kiln.catalog.Catalog.Rules catalogRules(KilnProperties properties) {
        return new dev.kiln.catalog.Catalog.Rules(properties.minScheduleInterval());
    }

    /** The version in the jar's manifest; {@code dev} when running from classes. */
    public static String kilnVersion() {
        String version = KilnConfiguration.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }

    /** SOURCE_DATE_EPOCH (reproducible-builds.org) pins the image creation time when set. */
    static Instant sourceDateEpoch() {
        String value = System.getenv("SOURCE_DATE_EPOCH");
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.ofEpochSecond(Long.parseLong(value.strip()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SOURCE_DATE_EPOCH: '" + value + "' is not a number of seconds");
        }
    }

    @Bean
    Services kilnServices(KilnProperties properties, DataSource dataSource) {
        return services(properties, Clock.systemUTC(), new JdbcReleaseMemory(dataSource));
    }

    @Bean
    History history(DataSource dataSource) {
        return new History(dataSource);
    }

    @Bean
    AuditChain auditChain(DataSource dataSource) {
        return new AuditChain(dataSource);
    }

    @Bean
    Retirer retirer(Services services, History history) {
        return new Retirer(history, services.target(), Clock.systemUTC());
    }

    @Bean
    Rebuilds rebuilds(Services services, DataSource dataSource, Scheduler scheduler, MeterRegistry meters) throws SchedulerException {
        // the Quartz instance id: the cluster's own record of which instances are alive
        return rebuilds(services, dataSource, scheduler.getSchedulerInstanceId(), meters);
    }

    static HttpClient httpClient() {
        return httpClient(new LazySslContext(LazySslContext::jdkDefault));
    }

    static HttpClient httpClient(SSLContext tls) {
        // plain-HTTP archives: HTTP/1.1 avoids h2c upgrade attempts that some mirrors and proxies mishandle
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(tls).sslParameters(LazySslContext.parameters())
                .followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(20)).build();
    }

    static DebianArchive debianArchive(HttpClient http, KilnProperties properties, Clock clock, ReleaseMemory memory) {
        Map<String, String> mirrors = new LinkedHashMap<>();
        properties.mirrors().forEach(m -> mirrors.put(m.archive(), m.url()));
        KilnProperties.Archive a = properties.archive();
        return new DebianArchive(http, properties.dataDir().resolve("cache"), mirrors, clock, properties.service().inReleaseReuse(),
                new DebianArchive.Limits(a.readTimeout(), a.transferTimeout(), a.maxInReleaseBytes(), a.maxIndexBytes(), a.maxReleaseAge()),
                memory);
    }
}
