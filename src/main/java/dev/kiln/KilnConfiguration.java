package dev.kiln;

import dev.kiln.debian.DebianArchive;
import dev.kiln.debian.PackageCache;
import dev.kiln.debian.PackageResolver;
import dev.kiln.ecr.Ecr;
import dev.kiln.history.History;
import dev.kiln.image.Composer;
import dev.kiln.publish.Publisher;
import dev.kiln.publish.RegistryLogin;
import dev.kiln.publish.Target;
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
        private Ecr ecr;
        private Publisher publisher;
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

        /** The ECR client; null unless the target is ECR. */
        public synchronized Ecr ecr() {
            String target = properties.build().target();
            if (ecr == null && (target.equals("ecr") || target.startsWith("ecr/"))) {
                ecr = Ecr.create(properties.ecr(), clock);
            }
            return ecr;
        }

        public synchronized Publisher publisher() {
            if (publisher == null) {
                Ecr registry = ecr();
                publisher = new Publisher(properties.dataDir(), clock, Set.copyOf(properties.build().insecureRegistries()),
                        registry == null ? RegistryLogin.NONE : registry);
            }
            return publisher;
        }

        public synchronized StackBuilder builder() {
            if (builder == null) {
                KilnProperties.Build build = properties.build();
                builder = new StackBuilder(packages, new Composer(build.maxLayers(), build.largePackageBytes()), publisher(),
                        properties.dataDir().resolve("work"), sourceDateEpoch());
            }
            return builder;
        }
    }

    public static Services services(KilnProperties properties, Clock clock) {
        DebianArchive archive = debianArchive(httpClient(), properties, clock);
        PackageCache packages = new PackageCache(archive, properties.dataDir().resolve("cache"));
        return new Services(properties, new StackLocker(archive, new PackageResolver()), packages, clock);
    }

    /** The configured target; an ECR target with its registry host (asked of ECR unless configured). */
    public static Target target(Services services) {
        Target target = Target.parse(services.properties().build().target());
        return target.ecr() ? target.withRegistry(services.ecr().registry()) : target;
    }

    /** The rebuild service over {@code history}, running builds as {@code instance}. */
    public static Rebuilds rebuilds(Services services, History history, String instance, MeterRegistry meters) {
        KilnProperties properties = services.properties();
        KilnProperties.Build build = properties.build();
        Rebuilds.ScanGate gate = services.ecr() == null || properties.ecr().scanGateSeverity() == null ? null
                : new Rebuilds.ScanGate(services.ecr(), properties.ecr().scanGateSeverity(), properties.ecr().scanTimeout());
        return new Rebuilds(properties.catalog(), services.locker(), services.builder(), history, target(services), services.ecr(), gate,
                instance, kilnVersion(), "maxLayers=" + build.maxLayers() + " largePackageBytes=" + build.largePackageBytes(), meters,
                properties.service().publishTimeout());
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
    Services kilnServices(KilnProperties properties) {
        return services(properties, Clock.systemUTC());
    }

    @Bean
    History history(DataSource dataSource) {
        return new History(dataSource);
    }

    @Bean
    Retirer retirer(Services services, History history) {
        return new Retirer(history, services.publisher(), services.ecr(), target(services), Clock.systemUTC());
    }

    @Bean
    Rebuilds rebuilds(Services services, History history, Scheduler scheduler, MeterRegistry meters) throws SchedulerException {
        // the Quartz instance id: the cluster's own record of which instances are alive
        return rebuilds(services, history, scheduler.getSchedulerInstanceId(), meters);
    }

    static HttpClient httpClient() {
        return httpClient(new LazySslContext(LazySslContext::jdkDefault));
    }

    static HttpClient httpClient(SSLContext tls) {
        // plain-HTTP archives: HTTP/1.1 avoids h2c upgrade attempts that some mirrors and proxies mishandle
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(tls).sslParameters(LazySslContext.parameters())
                .followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(20)).build();
    }

    static DebianArchive debianArchive(HttpClient http, KilnProperties properties, Clock clock) {
        Map<String, String> mirrors = new LinkedHashMap<>();
        properties.mirrors().forEach(m -> mirrors.put(m.archive(), m.url()));
        return new DebianArchive(http, properties.dataDir().resolve("cache"), mirrors, clock, properties.service().inReleaseReuse());
    }
}
