package dev.kiln;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Where Kiln keeps things. {@code dataDir} holds caches (indexes, packages, layers) and the local image
 * store; {@code catalog} is the stack directory.
 *
 * @param mirrors archive URLs to fetch from somewhere else (a mirror, snapshot or proxy)
 */
@ConfigurationProperties("kiln")
public record KilnProperties(Path catalog, Path dataDir, List<Mirror> mirrors, Build build, Service service, List<User> users,
                             Ecr ecr, Retire retire, Archive archive, Duration minScheduleInterval,
                             Signing signing) {

    public KilnProperties {
        catalog = catalog == null ? Path.of("catalog") : catalog;
        dataDir = dataDir == null ? Path.of(System.getProperty("user.home"), ".kiln") : dataDir;
        mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
        build = build == null ? new Build(null, null, null, null, null, null, null) : build;
        service = service == null ? new Service(null, null, null, null, null, null, null, null) : service;
        users = users == null ? List.of() : List.copyOf(users);
        ecr = ecr == null ? new Ecr(null, null, null, null, null, null, null, null, null) : ecr;
        retire = retire == null ? new Retire(null, null) : retire;
        archive = archive == null ? new Archive(null, null, null, null, null) : archive;
        minScheduleInterval = minScheduleInterval == null ? Duration.ofHours(1) : minScheduleInterval;
        signing = signing == null ? new Signing(null, null, null, null) : signing;
    }

    /**
     * What a Debian archive may send (docs/resolver.md, threat model): each limit is enforced while the
     * bytes stream in.
     *
     * @param readTimeout       no byte for this long (or no response headers) fails a transfer
     * @param transferTimeout   a whole transfer must be done within this
     * @param maxInReleaseBytes an InRelease larger than this is refused
     * @param maxIndexBytes     an index larger than this (compressed, or decompressed where the Release gives no size) is refused
     * @param maxReleaseAge     a Release dated longer ago than this is refused (a frozen mirror); unset: no limit
     */
    public record Archive(Duration readTimeout, Duration transferTimeout, Long maxInReleaseBytes, Long maxIndexBytes,
                          Duration maxReleaseAge) {
        public Archive {
            readTimeout = readTimeout == null ? Duration.ofSeconds(30) : readTimeout;
            transferTimeout = transferTimeout == null ? Duration.ofMinutes(30) : transferTimeout;
            maxInReleaseBytes = maxInReleaseBytes == null ? 16L << 20 : maxInReleaseBytes;
            maxIndexBytes = maxIndexBytes == null ? 1L << 30 : maxIndexBytes;
        }
    }

    /**
     * Signing and attesting images (docs/signing.md). No key: images are published unsigned, and the
     * builds recorded so.
     *
     * @param key          an ECDSA P-256 private key: a PKCS#8 PEM file, or {@code awskms://[ENDPOINT]/KEY} (alias/NAME,
     *                     key id or ARN)
     * @param passwordFile the password of an encrypted key file (else the KILN_SIGNING_PASSWORD environment variable)
     * @param kmsRegion    the KMS region (default: the AWS SDK's chain, or the ARN's)
     * @param kmsEndpoint  the KMS API endpoint (a VPC endpoint, a test server)
     */
    public record Signing(String key, Path passwordFile, String kmsRegion, String kmsEndpoint) {
        public Signing {
            key = key == null || key.isBlank() ? null : key.strip();
        }
    }

    /**
     * The ECR target ({@code --target ecr[/NAMESPACE]}). Credentials and, unless set here, the region
     * come from the AWS SDK's default chains.
     *
     * @param endpoint            the ECR API endpoint (a VPC endpoint, or a test server)
     * @param registry            the registry host to push to instead of the one ECR names
     * @param exclusions          tag wildcards exempt from immutability (IMMUTABLE_WITH_EXCLUSION)
     * @param kmsKey              customer managed KMS key for new repositories (default: AWS managed)
     * @param tags                resource tags for new repositories
     * @param scanGateSeverity    with a severity (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL), wait for the scan
     *                            after each push; findings at or above it quarantine the image
     * @param scanTimeout         how long to wait for a scan
     */
    public record Ecr(String region, String endpoint, String registry, List<String> exclusions, Boolean scanOnPush, String kmsKey,
                      java.util.Map<String, String> tags, String scanGateSeverity, Duration scanTimeout) {
        public Ecr {
            exclusions = exclusions == null ? List.of() : List.copyOf(exclusions);
            scanOnPush = scanOnPush == null || scanOnPush;
            tags = tags == null ? java.util.Map.of() : java.util.Map.copyOf(tags);
            scanTimeout = scanTimeout == null ? Duration.ofMinutes(10) : scanTimeout;
        }
    }

    /**
     * Retirement of stale tags.
     *
     * @param cron     when the service retires (Quartz cron, seconds first)
     * @param timeZone its time zone
     */
    public record Retire(String cron, String timeZone) {
        public Retire {
            cron = cron == null ? "0 0 4 * * ?" : cron;
            timeZone = timeZone == null ? "UTC" : timeZone;
        }
    }

    /**
     * How the service runs its schedule (see docs/service.md).
     *
     * @param catalogSync          how often the catalog is re-read (stacks, schedules, definition changes)
     * @param buildOnCatalogChange build a stack at once when it is added or its definition changes
     * @param heartbeat            how often an instance reports its running builds
     * @param staleAfter           a running build whose instance stopped reporting this long is marked failed
     * @param queuedFor            a queued build nobody started this long is marked failed
     * @param inReleaseReuse       an archive's InRelease fetched this recently is reused (stacks ticking together)
     * @param retry                how a build that a peer's outage interrupted is retried
     * @param publishTimeout       a push not ended after this long is given up as the registry's outage (and retried)
     */
    public record Service(Duration catalogSync, Boolean buildOnCatalogChange, Duration heartbeat, Duration staleAfter,
                          Duration queuedFor, Duration inReleaseReuse, Retry retry, Duration publishTimeout) {
        public Service {
            publishTimeout = publishTimeout == null ? Duration.ofMinutes(30) : publishTimeout;
            retry = retry == null ? new Retry(null, null, null) : retry;
            catalogSync = catalogSync == null ? Duration.ofMinutes(1) : catalogSync;
            buildOnCatalogChange = buildOnCatalogChange == null || buildOnCatalogChange;
            heartbeat = heartbeat == null ? Duration.ofSeconds(5) : heartbeat;
            staleAfter = staleAfter == null ? Duration.ofMinutes(2) : staleAfter;
            queuedFor = queuedFor == null ? Duration.ofHours(1) : queuedFor;
            inReleaseReuse = inReleaseReuse == null ? Duration.ofSeconds(30) : inReleaseReuse;
        }
    }

    /**
     * Retries after an outage of the database, the registry or the archive: attempt {@code n} runs
     * {@code delay * 2^(n-1)} (at most {@code maxDelay}) after the one before failed; after the database's
     * outage, as soon as it answers again. After {@code attempts} retries the next scheduled tick takes over.
     */
    public record Retry(Duration delay, Duration maxDelay, Integer attempts) {
        public Retry {
            delay = delay == null ? Duration.ofSeconds(15) : delay;
            maxDelay = maxDelay == null ? Duration.ofMinutes(5) : maxDelay;
            attempts = attempts == null ? 8 : attempts;
            if (delay.isNegative() || delay.isZero() || maxDelay.compareTo(delay) < 0 || attempts < 0) {
                throw new IllegalArgumentException("kiln.service.retry: delay must be positive, max-delay at least delay, attempts >= 0"
                        + " (got " + delay + ", " + maxDelay + ", " + attempts + ")");
            }
        }

        /** How long after a failure retry {@code attempt} (from 1) runs. */
        public Duration after(int attempt) {
            Duration d = delay;
            for (int i = 1; i < attempt && d.compareTo(maxDelay) < 0; i++) {
                d = d.multipliedBy(2);
            }
            return d.compareTo(maxDelay) > 0 ? maxDelay : d;
        }
    }

    /**
     * An API user. {@code password} is in Spring Security's encoded form ({@code {bcrypt}...}, or
     * {@code {noop}...} for tests); {@code roles} may hold {@code platform} (may trigger builds).
     */
    public record User(String name, String password, List<String> roles) {
        public User {
            roles = roles == null ? List.of() : List.copyOf(roles);
        }
    }

    /**
     * How images are built and where they go.
     *
     * @param target             {@code local} (the OCI store under the data directory), {@code ecr[/NAMESPACE]} or HOST[:PORT][/NAMESPACE]
     * @param maxLayers          the layer budget, Kiln's two layers included
     * @param largePackageBytes  past the layer budget, a package this large (its .deb) keeps a layer of its own
     * @param insecureRegistries registries that may be reached over plain HTTP (loopback always may)
     * @param layerCacheKeep     composed layers no build used for this long leave the layer cache
     * @param compressionLevel   gzip level of the layers, 1 (fastest) to 9 (smallest)
     * @param nativeXz           decompress packages' xz data with the xz program when it is on PATH (faster than xz-java,
     *                           the same bytes); false: xz-java always
     */
    public record Build(String target, Integer maxLayers, Long largePackageBytes, List<String> insecureRegistries, Duration layerCacheKeep,
                        Integer compressionLevel, Boolean nativeXz) {
        public Build {
            target = target == null ? "local" : target;
            // a layer per package for any stack up to 98 packages (Docker's overlay2 stacks up to 128 layers)
            maxLayers = maxLayers == null ? 100 : maxLayers;
            largePackageBytes = largePackageBytes == null ? 1L << 20 : largePackageBytes;
            insecureRegistries = insecureRegistries == null ? List.of() : List.copyOf(insecureRegistries);
            layerCacheKeep = layerCacheKeep == null ? Duration.ofDays(30) : layerCacheKeep;
            // go-containerregistry's default (and so ko's and apko's): a third of level 6's CPU for ~10% more bytes
            compressionLevel = compressionLevel == null ? 1 : compressionLevel;
            nativeXz = nativeXz == null || nativeXz;
        }
    }

    /** Fetch everything under {@code archive} from {@code url} instead. */
    public record Mirror(String archive, String url) {
    }
}
