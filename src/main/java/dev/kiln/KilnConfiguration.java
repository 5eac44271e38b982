package dev.kiln;

import dev.kiln.catalog.CatalogCache;

import dev.kiln.debian.DebianArchive;
import dev.kiln.debian.JsonFileReleaseMemory;
import dev.kiln.debian.ReleaseMemory;
import dev.kiln.history.JdbcReleaseMemory;
import dev.kiln.history.RebaseGrants;
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
import dev.kiln.kms.AwsKmsSigningKey;
import dev.kiln.rebuild.EvidenceAttestations;
import dev.kiln.rebuild.Attester;
import dev.kiln.rebuild.BuildSettings;
import dev.kiln.rebuild.Rebuilds;
import dev.kiln.rebuild.Reproducer;
import dev.kiln.sign.FileSigningKey;
import dev.kiln.sign.LazySigningKey;
import dev.kiln.sign.SignException;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import java.nio.file.Path;
import java.util.Optional;
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
        private final CatalogCache catalogs;
        private ImageTarget target;
        private StackBuilder builder;
        private Optional<SigningKey> signingKey;

        private Services(KilnProperties properties, StackLocker locker, PackageCache packages, Clock clock) {
            this.properties = properties;
            this.locker = locker;
            this.packages = packages;
            this.clock = clock;
            this.catalogs = new CatalogCache(properties.catalog(), catalogRules(properties));
        }

        /** The catalog, read again only when its files change (every build, tick and page reads it). */
        public CatalogCache catalogs() {
            return catalogs;
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

        /**
         * The configured signing key (loaded on first use: a key that cannot load fails each build that
         * needs it, saying why), or empty when none is configured.
         */
        public synchronized Optional<SigningKey> signingKey() {
            if (signingKey == null) {
                signingKey = KilnConfiguration.signingKey(properties.signing());
            }
            return signingKey;
        }

        public synchronized StackBuilder builder() {
            if (builder == null) {
                KilnProperties.Build build = properties.build();
                LayerCache layers = new LayerCache(properties.dataDir().resolve("cache/layers"), build.layerCacheKeep(), clock,
                        build.compressionLevel());
                UnpackCache unpacks = new UnpackCache(properties.dataDir().resolve("cache/unpacked"), build.layerCacheKeep(), clock,
                        build.nativeXz());
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
        return new Rebuilds(services.catalogs(), services.locker(), services.builder(), history, services.target(),
                instance, kilnVersion(), new BuildSettings(build.maxLayers(), build.largePackageBytes(), build.compressionLevel(),
                System.getenv("SOURCE_DATE_EPOCH")), meters, properties.service().publishTimeout(), attester(services),
                new BuildRecorder(new BuildRecords(dataSource), new PackageSightings(dataSource)), new RebaseGrants(dataSource));
    }

    /**
     * {@code kiln rebuild --verify}: rebuilds in a clean workspace under the data directory (its own
     * package and layer caches, so every package is downloaded and checked again) with the recorded settings.
     */
    public static Reproducer reproducer(Services services, History history, String instance) {
        KilnProperties properties = services.properties();
        Clock clock = Clock.systemUTC();
        Reproducer.Workspace workspace = (dir, settings) -> {
            DebianArchive archive = debianArchive(httpClient(), properties, dir.resolve("cache"), clock,
                    new JsonFileReleaseMemory(dir.resolve("state")));
            LayerCache layers = new LayerCache(dir.resolve("cache/layers"), properties.build().layerCacheKeep(), clock, settings.compressionLevel());
            UnpackCache unpacks = new UnpackCache(dir.resolve("cache/unpacked"), properties.build().layerCacheKeep(), clock,
                    properties.build().nativeXz());
            return new StackBuilder(new PackageCache(archive, dir.resolve("cache")),
                    new Composer(settings.maxLayers(), settings.largePackageBytes(), layers, unpacks), new Publisher(clock),
                    settings.sourceDateEpoch().isEmpty() ? null : Instant.ofEpochSecond(Long.parseLong(settings.sourceDateEpoch())));
        };
        return new Reproducer(history, services.target(), attester(services), workspace, properties.dataDir().resolve("work"), instance,
                kilnVersion(), clock);
    }

    /**
     * Signs with the configured key, attesting the SLSA provenance, both SBOMs and the rebuild record
     * ({@link EvidenceAttestations}); unsigned without a key.
     */
    public static Attester attester(Services services) {
        return services.signingKey().map(k -> Attester.signing(new Signer(k, Clock.systemUTC()), new EvidenceAttestations()))
                .orElseGet(Attester::unsigned);
    }

    /** {@code kiln.signing.key} as a key: a PKCS#8 file or an AWS KMS key, loaded on first use. */
    static Optional<SigningKey> signingKey(KilnProperties.Signing settings) {
        String reference = settings.key();
        if (reference == null) {
            return Optional.empty();
        }
        if (AwsKmsSigningKey.names(reference)) {
            return Optional.of(new LazySigningKey(reference, () -> AwsKmsSigningKey.of(reference, settings.kmsRegion(), settings.kmsEndpoint())));
        }
        Path file = Path.of(reference);
        return Optional.of(new LazySigningKey("file " + file, () -> FileSigningKey.load(file, signingPassword(settings))));
    }

    /** An encrypted key's password: the secret file, else KILN_SIGNING_PASSWORD (never a property: it would show in dumps). */
    private static char[] signingPassword(KilnProperties.Signing settings) {
        if (settings.passwordFile() != null) {
            try {
                return java.nio.file.Files.readString(settings.passwordFile()).strip().toCharArray();
            } catch (java.io.IOException e) {
                throw new SignException("kiln.signing.password-file " + settings.passwordFile() + ": cannot read (" + e.getMessage() + ")", e);
            }
        }
        String env = System.getenv("KILN_SIGNING_PASSWORD");
        return env == null ? null : env.toCharArray();
    }


    /** The rules every reader of the catalog holds it to (the CLI, the scheduler, the pipeline). */
    public static dev.kiln.catalog.Catalog.Rules catalogRules(KilnProperties properties) {
        return new dev.kiln.catalog.Catalog.Rules(properties.minScheduleInterval());
    }

    /** The version in the jar's manifest (the launcher's classes.jar keeps it); {@code dev} when running from classes. */
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
    CatalogCache catalogCache(Services services) {
        return services.catalogs();
    }

    @Bean
    History history(DataSource dataSource) {
        return new History(dataSource);
    }

    @Bean
    RebaseGrants rebaseGrants(DataSource dataSource) {
        return new RebaseGrants(dataSource);
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
        return debianArchive(http, properties, properties.dataDir().resolve("cache"), clock, memory);
    }

    /** @param cache where indexes and packages are kept (a clean one for {@code kiln rebuild --verify}) */
    static DebianArchive debianArchive(HttpClient http, KilnProperties properties, Path cache, Clock clock, ReleaseMemory memory) {
        Map<String, String> mirrors = new LinkedHashMap<>();
        properties.mirrors().forEach(m -> mirrors.put(m.archive(), m.url()));
        KilnProperties.Archive a = properties.archive();
        return new DebianArchive(http, cache, mirrors, clock, properties.service().inReleaseReuse(),
                new DebianArchive.Limits(a.readTimeout(), a.transferTimeout(), a.maxInReleaseBytes(), a.maxIndexBytes(), a.maxReleaseAge()),
                memory);
    }
}
