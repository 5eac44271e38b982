package dev.kiln.ecr;

import dev.kiln.publish.PublishException;
import dev.kiln.publish.RegistryLogin;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.model.AuthorizationData;
import software.amazon.awssdk.services.ecr.model.BatchDeleteImageResponse;
import software.amazon.awssdk.services.ecr.model.DescribeImageScanFindingsResponse;
import software.amazon.awssdk.services.ecr.model.EcrException;
import software.amazon.awssdk.services.ecr.model.EncryptionType;
import software.amazon.awssdk.services.ecr.model.ImageDetail;
import software.amazon.awssdk.services.ecr.model.ImageIdentifier;
import software.amazon.awssdk.services.ecr.model.ImageNotFoundException;
import software.amazon.awssdk.services.ecr.model.ImageTagMutability;
import software.amazon.awssdk.services.ecr.model.ImageTagMutabilityExclusionFilter;
import software.amazon.awssdk.services.ecr.model.Repository;
import software.amazon.awssdk.services.ecr.model.RepositoryNotFoundException;
import software.amazon.awssdk.services.ecr.model.ScanNotFoundException;
import software.amazon.awssdk.services.ecr.model.Tag;

/**
 * Kiln's use of the ECR API: repositories made the way the catalog wants them (immutable tags, scan
 * on push, KMS, resource tags), registry credentials from GetAuthorizationToken (cached until shortly
 * before they expire), the pushed digest confirmed, pull times for retention, deletion in batches of
 * 100, and scan findings for the gate. The push itself is jib's, with these credentials.
 */
public final class Ecr implements RegistryLogin {

    private static final Logger log = LoggerFactory.getLogger(Ecr.class);
    static final int DELETE_BATCH = 100;
    private static final Duration RENEW_BEFORE_EXPIRY = Duration.ofMinutes(10);

    private final EcrClient client;
    private final Settings settings;
    private final Clock clock;
    private volatile Token token;

    /**
     * How Kiln makes repositories and reaches the registry.
     *
     * @param exclusions        tag filters (wildcards) exempt from immutability: the repository is then
     *                          {@code IMMUTABLE_WITH_EXCLUSION}
     * @param kmsKey            a customer managed key (ARN or id); null: AWS managed KMS key
     * @param tags              resource tags for new repositories
     * @param registry          the registry host to push to, instead of the one GetAuthorizationToken names
     *                          (a VPC endpoint, a test registry)
     */
    public record Settings(List<String> exclusions, boolean scanOnPush, String kmsKey, Map<String, String> tags, String registry) {
        public Settings {
            exclusions = exclusions == null ? List.of() : List.copyOf(exclusions);
            tags = tags == null ? Map.of() : Map.copyOf(tags);
        }
    }

    private record Token(String registry, Login login, Instant expiresAt) {
    }

    /**
     * The ECR API on the AWS SDK's default credential and region chains, or the given region and
     * endpoint (a VPC endpoint, a test emulator).
     */
    public static Ecr create(String region, String endpoint, Settings settings, Clock clock) {
        var client = EcrClient.builder();
        if (region != null) {
            client.region(software.amazon.awssdk.regions.Region.of(region));
        }
        if (endpoint != null) {
            client.endpointOverride(URI.create(endpoint));
        }
        return new Ecr(client.build(), settings, clock);
    }

    public Ecr(EcrClient client, Settings settings, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.clock = clock;
    }

    /** The repository, created as the settings say if missing; an existing one is made immutable if it is not. */
    public Repository ensureRepository(String name) {
        try {
            Repository existing = client.describeRepositories(r -> r.repositoryNames(name)).repositories().get(0);
            ImageTagMutability wanted = mutability();
            if (existing.imageTagMutability() != wanted) {
                log.warn("ECR repository {} has tag mutability {}; setting {}", name, existing.imageTagMutabilityAsString(), wanted);
                client.putImageTagMutability(r -> r.repositoryName(name).imageTagMutability(wanted)
                        .imageTagMutabilityExclusionFilters(exclusionFilters()));
            }
            return existing;
        } catch (RepositoryNotFoundException e) {
            Repository created = client.createRepository(r -> {
                r.repositoryName(name)
                        .imageTagMutability(mutability())
                        .imageScanningConfiguration(s -> s.scanOnPush(settings.scanOnPush()))
                        .encryptionConfiguration(c -> c.encryptionType(EncryptionType.KMS).kmsKey(settings.kmsKey()))
                        .tags(settings.tags().entrySet().stream().map(t -> Tag.builder().key(t.getKey()).value(t.getValue()).build()).toList());
                if (!settings.exclusions().isEmpty()) {
                    r.imageTagMutabilityExclusionFilters(exclusionFilters());
                }
            }).repository();
            log.info("created ECR repository {} ({}, scan on push {}, KMS {})", created.repositoryUri(), created.imageTagMutabilityAsString(),
                    settings.scanOnPush(), settings.kmsKey() == null ? "AWS managed key" : settings.kmsKey());
            return created;
        } catch (EcrException e) {
            throw new PublishException("ECR repository " + name + ": " + message(e), e);
        }
    }

    /** The repository's tag mutability and encryption as ECR reports them now, beside the key Kiln is configured with. */
    public dev.kiln.publish.ImageTarget.Protection protection(String name) {
        try {
            Repository r = client.describeRepositories(q -> q.repositoryNames(name)).repositories().get(0);
            return new dev.kiln.publish.ImageTarget.Protection(r.imageTagMutabilityAsString(),
                    r.imageTagMutabilityExclusionFilters() == null ? List.of()
                            : r.imageTagMutabilityExclusionFilters().stream().map(ImageTagMutabilityExclusionFilter::filter).toList(),
                    r.encryptionConfiguration() == null ? null : r.encryptionConfiguration().encryptionTypeAsString(),
                    r.encryptionConfiguration() == null ? null : r.encryptionConfiguration().kmsKey(), settings.kmsKey());
        } catch (EcrException e) {
            throw new PublishException("ECR repository " + name + ": " + message(e), e);
        }
    }

    private ImageTagMutability mutability() {
        return settings.exclusions().isEmpty() ? ImageTagMutability.IMMUTABLE : ImageTagMutability.IMMUTABLE_WITH_EXCLUSION;
    }

    private List<ImageTagMutabilityExclusionFilter> exclusionFilters() {
        return settings.exclusions().stream()
                .map(f -> ImageTagMutabilityExclusionFilter.builder().filterType("WILDCARD").filter(f).build()).toList();
    }

    /** The registry host images are pushed to. */
    public String registry() {
        return settings.registry() != null ? settings.registry() : token().registry();
    }

    /** ECR's credentials for its own registry (and for the configured registry override). */
    @Override
    public Optional<Login> login(String registry) {
        Token current = token();
        String host = settings.registry() != null ? settings.registry() : current.registry();
        return registry.equals(host) ? Optional.of(current.login()) : Optional.empty();
    }

    private Token token() {
        Token current = token;
        if (current != null && clock.instant().isBefore(current.expiresAt().minus(RENEW_BEFORE_EXPIRY))) {
            return current;
        }
        synchronized (this) {
            if (token != null && clock.instant().isBefore(token.expiresAt().minus(RENEW_BEFORE_EXPIRY))) {
                return token;
            }
            try {
                AuthorizationData data = client.getAuthorizationToken().authorizationData().get(0);
                String decoded = new String(Base64.getDecoder().decode(data.authorizationToken()), StandardCharsets.UTF_8);
                int colon = decoded.indexOf(':');
                token = new Token(URI.create(data.proxyEndpoint()).getAuthority(),
                        new Login(decoded.substring(0, colon), decoded.substring(colon + 1)), data.expiresAt());
                return token;
            } catch (EcrException e) {
                throw new PublishException("ECR GetAuthorizationToken: " + message(e), e);
            }
        }
    }

    /** Fails unless {@code tag} in {@code repository} names {@code digest}, as ECR itself reports. */
    public void confirm(String repository, String tag, String digest) {
        try {
            ImageDetail detail = client.describeImages(r -> r.repositoryName(repository).imageIds(i -> i.imageTag(tag))).imageDetails().get(0);
            if (!digest.equals(detail.imageDigest())) {
                throw new PublishException(repository + ":" + tag + ": ECR reports digest " + detail.imageDigest() + ", Kiln pushed " + digest);
            }
        } catch (ImageNotFoundException e) {
            throw new PublishException(repository + ":" + tag + ": ECR does not list the image Kiln just pushed (" + message(e) + ")", e);
        } catch (EcrException e) {
            throw new PublishException("ECR DescribeImages " + repository + ":" + tag + ": " + message(e), e);
        }
    }

    /** One image of a repository as ECR records it. */
    public record Image(String digest, List<String> tags, Instant pushedAt, Optional<Instant> lastPulled) {
    }

    public List<Image> images(String repository) {
        List<Image> images = new ArrayList<>();
        try {
            client.describeImagesPaginator(r -> r.repositoryName(repository)).imageDetails().forEach(d -> images.add(new Image(
                    d.imageDigest(), d.imageTags(), d.imagePushedAt(), Optional.ofNullable(d.lastRecordedPullTime()))));
        } catch (RepositoryNotFoundException e) {
            return List.of();
        } catch (EcrException e) {
            throw new PublishException("ECR DescribeImages " + repository + ": " + message(e), e);
        }
        return images;
    }

    /** The manifests of images by digest (BatchGetImage, 100 at a time), as ECR stores them. */
    public Map<String, String> manifests(String repository, List<String> digests) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int from = 0; from < digests.size(); from += DELETE_BATCH) {
            List<ImageIdentifier> batch = digests.subList(from, Math.min(digests.size(), from + DELETE_BATCH)).stream()
                    .map(d -> ImageIdentifier.builder().imageDigest(d).build()).toList();
            try {
                client.batchGetImage(r -> r.repositoryName(repository).imageIds(batch).acceptedMediaTypes(
                        "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json")).images()
                        .forEach(i -> out.put(i.imageId().imageDigest(), i.imageManifest()));
            } catch (EcrException e) {
                throw new PublishException("ECR BatchGetImage " + repository + ": " + message(e), e);
            }
        }
        return out;
    }

    /**
     * Deletes images by digest, at most 100 per BatchDeleteImage call. Returns, per digest that could not
     * be deleted, ECR's reason; an image already gone counts as deleted.
     */
    public Map<String, String> delete(String repository, List<String> digests) {
        Map<String, String> failures = new LinkedHashMap<>();
        for (int from = 0; from < digests.size(); from += DELETE_BATCH) {
            List<ImageIdentifier> batch = digests.subList(from, Math.min(digests.size(), from + DELETE_BATCH)).stream()
                    .map(d -> ImageIdentifier.builder().imageDigest(d).build()).toList();
            try {
                BatchDeleteImageResponse response = client.batchDeleteImage(r -> r.repositoryName(repository).imageIds(batch));
                response.failures().stream().filter(f -> !"ImageNotFound".equals(f.failureCodeAsString()))
                        .forEach(f -> failures.put(f.imageId().imageDigest(), f.failureCodeAsString() + ": " + f.failureReason()));
            } catch (EcrException e) {
                batch.forEach(i -> failures.put(i.imageDigest(), message(e)));
            }
        }
        return failures;
    }

    /** A finished scan: its status and the count of findings per severity. */
    public record Scan(String status, Map<String, Integer> severities, List<String> findings) {
        private static final List<String> ORDER = List.of("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED");

        /** How many findings are at {@code severity} or worse. */
        public int atOrAbove(String severity) {
            int limit = ORDER.indexOf(severity.toUpperCase(java.util.Locale.ROOT));
            if (limit < 0) {
                throw new IllegalArgumentException("scan gate severity '" + severity + "': expected one of " + ORDER);
            }
            return severities.entrySet().stream().filter(e -> {
                int rank = ORDER.indexOf(e.getKey());
                return rank >= 0 && rank <= limit;
            }).mapToInt(Map.Entry::getValue).sum();
        }
    }

    /** Waits up to {@code timeout} for the image's scan (starting one if ECR has none) and returns it. */
    public Scan scan(String repository, String digest, Duration timeout) {
        Instant deadline = clock.instant().plus(timeout);
        boolean started = false;
        while (true) {
            try {
                DescribeImageScanFindingsResponse r = client.describeImageScanFindings(q -> q.repositoryName(repository)
                        .imageId(i -> i.imageDigest(digest)));
                String status = r.imageScanStatus().statusAsString();
                if (!"IN_PROGRESS".equals(status) && !"PENDING".equals(status)) {
                    Map<String, Integer> counts = r.imageScanFindings() == null ? Map.of() : r.imageScanFindings().findingSeverityCountsAsStrings();
                    List<String> findings = r.imageScanFindings() == null ? List.of() : r.imageScanFindings().findings().stream()
                            .map(f -> f.severityAsString() + " " + f.name()).toList();
                    return new Scan(status, counts, findings);
                }
            } catch (ScanNotFoundException e) {
                if (!started) {
                    client.startImageScan(q -> q.repositoryName(repository).imageId(i -> i.imageDigest(digest)));
                    started = true;
                }
            } catch (EcrException e) {
                throw new PublishException("ECR scan findings " + repository + "@" + digest + ": " + message(e), e);
            }
            if (clock.instant().isAfter(deadline)) {
                throw new PublishException(repository + "@" + digest + ": no scan result within " + timeout);
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PublishException("interrupted waiting for the scan of " + repository + "@" + digest, e);
            }
        }
    }

    /**
     * A push refusal in words: ECR refuses a push to an existing tag of an immutable repository (another
     * writer took the tag between Kiln's check and its push).
     */
    static String refusal(String message) {
        String text = message == null ? "" : message;
        if (text.contains("immutable") || text.contains("ImageTagAlreadyExists")) {
            return "ECR refused the push because the tag already exists and the repository's tags are immutable; "
                    + "Kiln never overwrites a tag, nothing was changed (" + text + ")";
        }
        return text;
    }

    /** ECR's refusal to overwrite an immutable tag, worded for people; other errors as ECR says them. */
    static String message(EcrException e) {
        String code = e.awsErrorDetails() == null ? "" : e.awsErrorDetails().errorCode();
        if ("ImageTagAlreadyExistsException".equals(code) || "ImageAlreadyExistsException".equals(code)) {
            return "the tag already exists and the repository's tags are immutable; Kiln never overwrites a tag ("
                    + e.awsErrorDetails().errorMessage() + ")";
        }
        return e.awsErrorDetails() == null ? e.getMessage() : code + ": " + e.awsErrorDetails().errorMessage();
    }
}
