package dev.kiln.publish;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Credential;
import com.google.cloud.tools.jib.api.CredentialRetriever;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.event.EventHandlers;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;
import com.google.cloud.tools.jib.http.FailoverHttpClient;
import com.google.cloud.tools.jib.registry.RegistryClient;
import dev.kiln.image.Composition;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Assembles a composition into an OCI image with jib-core and publishes it under an immutable tag. The
 * composed layers go to jib as a {@code docker save} style base tarball (jib's own file layers cannot
 * carry symlinks, setuid-free modes and directory metadata faithfully); jib adds the config and pushes.
 * The image is always assembled into a local archive first, so its digest is known before any tag is
 * looked up: an existing tag with the same digest is a no-op, with another digest an error.
 */
public final class Publisher {

    private static final Logger log = LoggerFactory.getLogger(Publisher.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyyMMdd");
    private static final int MAX_BUILDS_PER_DAY = 999;

    private final Path dataDir;
    private final LocalStore store;
    private final Clock clock;
    private final Set<String> insecureRegistries;
    private final RegistryLogin login;

    public Publisher(Path dataDir, Clock clock, Set<String> insecureRegistries) {
        this(dataDir, clock, insecureRegistries, RegistryLogin.NONE);
    }

    public Publisher(Path dataDir, Clock clock, Set<String> insecureRegistries, RegistryLogin login) {
        this.dataDir = dataDir;
        this.store = new LocalStore(dataDir.resolve("store"));
        this.clock = clock;
        this.insecureRegistries = Set.copyOf(insecureRegistries);
        this.login = login;
    }

    /** What the image says about itself: run settings and labels. */
    public record Spec(String repository, String version, String tagTemplate, int uid, int gid, Map<String, String> env,
                       List<String> entrypoint, List<String> cmd, String workdir, Map<String, String> labels, String architecture) {
        public Spec {
            // sorted, never Map.copyOf: its iteration order changes from one JVM run to the next, and
            // the order of env and labels is part of the image config, hence of the digest
            env = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(env));
            entrypoint = List.copyOf(entrypoint);
            cmd = List.copyOf(cmd);
            labels = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(labels));
        }
    }

    /** The outcome: where the image is, under which tag, and what it cost. */
    public record Published(String reference, String tag, String digest, long bytesPushed, boolean alreadyPresent) {
    }

    /**
     * @param explicitTag a tag to use instead of the template (then it must be free or hold this digest)
     */
    public Published publish(Composition composition, Spec spec, Target target, Optional<String> explicitTag, Path work) {
        try {
            Path base = work.resolve("base.tar");
            writeBaseTarball(composition, spec, base);
            Path archive = work.resolve("image.tar");
            String repository = target.repository(spec.repository());
            JibContainer local = containerizer(composition, spec, base, Containerizer.to(TarImage.at(archive).named(repository + ":kiln-build")));
            String digest = local.getDigest().toString();

            Tags tags = target.local() ? new LocalTags(store, repository)
                    : new RegistryTags(target, repository, allowHttp(target), login);
            String tag;
            if (explicitTag.isPresent()) {
                tag = explicitTag.get();
                Optional<String> existing = tags.digest(tag);
                if (existing.isPresent()) {
                    return sameOrCollision(target, repository, tag, existing.get(), digest);
                }
            } else {
                String prefix = spec.tagTemplate().replace("{version}", spec.version())
                        .replace("{yyyymmdd}", LocalDate.now(clock.withZone(ZoneOffset.UTC)).format(DAY));
                tag = null;
                for (int n = 1; n <= MAX_BUILDS_PER_DAY && tag == null; n++) {
                    String candidate = prefix.replace("{n}", Integer.toString(n));
                    Optional<String> existing = tags.digest(candidate);
                    if (existing.isEmpty()) {
                        tag = candidate;
                    } else if (existing.get().equals(digest)) {
                        return new Published(reference(target, repository, candidate), candidate, digest, 0, true);
                    }
                }
                if (tag == null) {
                    throw new PublishException(repository + ": " + MAX_BUILDS_PER_DAY + " tags for " + prefix + " already; none left today");
                }
            }

            long pushed;
            if (target.local()) {
                pushed = store.put(archive, repository + ":" + tag);
            } else {
                RegistryTags registry = (RegistryTags) tags;
                pushed = registry.missingBytes(composition, archive);
                // check again right before pushing: another writer may have taken the tag meanwhile
                Optional<String> raced = registry.digest(tag);
                if (raced.isPresent()) {
                    return sameOrCollision(target, repository, tag, raced.get(), digest);
                }
                RegistryImage image = RegistryImage.named(ImageReference.of(target.registry(), repository, tag));
                registry.credential().ifPresentOrElse(c -> image.addCredential(c.getUsername(), c.getPassword()),
                        () -> registry.retrievers().forEach(image::addCredentialRetriever));
                JibContainer remote = containerizer(composition, spec, base,
                        Containerizer.to(image).setAllowInsecureRegistries(allowHttp(target)));
                if (!remote.getDigest().toString().equals(digest)) {
                    throw new PublishException(reference(target, repository, tag) + ": pushed digest " + remote.getDigest()
                            + " differs from the assembled " + digest);
                }
            }
            return new Published(reference(target, repository, tag), tag, digest, pushed, false);
        } catch (IOException e) {
            throw new PublishException("publishing to " + target + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PublishException("interrupted while publishing to " + target, e);
        } catch (ExecutionException | RegistryException | com.google.cloud.tools.jib.api.CacheDirectoryCreationException
                 | com.google.cloud.tools.jib.api.InvalidImageReferenceException | java.security.DigestException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new PublishException(refusal(target, cause.getMessage()), e);
        }
    }

    /**
     * Removes the image {@code digest} of the stack's repository from {@code target} (every tag naming
     * it). True when something was removed, false when it was already gone. ECR deletes through its API,
     * not here.
     */
    public boolean delete(Target target, String stackRepository, String digest) {
        String repository = target.repository(stackRepository);
        if (target.local()) {
            return store.remove(repository, digest) > 0;
        }
        try {
            return new RegistryTags(target, repository, allowHttp(target), login).deleteManifest(digest);
        } catch (IOException | RegistryException e) {
            throw new PublishException("deleting " + target.registry() + "/" + repository + "@" + digest + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PublishException("interrupted while deleting " + repository + "@" + digest, e);
        }
    }

    /** Whether {@code tag} in the stack's repository on {@code target} still names {@code digest}. */
    public boolean holds(Target target, String stackRepository, String tag, String digest) {
        String repository = target.repository(stackRepository);
        try {
            Tags tags = target.local() ? new LocalTags(store, repository) : new RegistryTags(target, repository, allowHttp(target), login);
            return tags.digest(tag).map(digest::equals).orElse(false);
        } catch (IOException | RegistryException e) {
            throw new PublishException("looking up " + reference(target, repository, tag) + ": " + e.getMessage(), e);
        }
    }

    /**
     * A registry's refusal in words: ECR refuses a push to an existing tag of an immutable repository
     * (another writer took the tag between Kiln's check and its push).
     */
    static String refusal(Target target, String message) {
        String text = message == null ? "" : message;
        if (target.ecr() && text.contains("immutable")) {
            return "publishing to " + target + ": ECR refused the push because the tag already exists and the repository's tags are "
                    + "immutable; Kiln never overwrites a tag, nothing was changed (" + text + ")";
        }
        return "publishing to " + target + ": " + text;
    }

    private Published sameOrCollision(Target target, String repository, String tag, String existing, String digest) {
        if (existing.equals(digest)) {
            return new Published(reference(target, repository, tag), tag, digest, 0, true);
        }
        throw new PublishException(reference(target, repository, tag) + " already exists with digest " + existing
                + "; this build is " + digest + " and tags are never overwritten");
    }

    private boolean allowHttp(Target target) {
        return !target.local() && (target.loopback() || insecureRegistries.contains(target.registry()));
    }

    static String reference(Target target, String repository, String tag) {
        return (target.local() ? "oci:store/" : target.registry() + "/") + repository + ":" + tag;
    }

    private JibContainer containerizer(Composition composition, Spec spec, Path base, Containerizer containerizer)
            throws IOException, InterruptedException, ExecutionException, RegistryException,
            com.google.cloud.tools.jib.api.CacheDirectoryCreationException {
        JibContainerBuilder builder = Jib.from(TarImage.at(base))
                .setFormat(ImageFormat.OCI)
                .setCreationTime(composition.created())
                .setUser(spec.uid() + ":" + spec.gid())
                .setEnvironment(spec.env())
                .setLabels(spec.labels());
        builder.setEntrypoint(spec.entrypoint().isEmpty() ? null : spec.entrypoint());
        builder.setProgramArguments(spec.cmd().isEmpty() ? null : spec.cmd());
        if (spec.workdir() != null) {
            builder.setWorkingDirectory(AbsoluteUnixPath.get(spec.workdir()));
        }
        Consumer<LogEvent> logger = e -> log.debug("jib: {}", e.getMessage());
        return builder.containerize(containerizer
                .setToolName("kiln")
                .setBaseImageLayersCache(dataDir.resolve("cache/jib/base"))
                .setApplicationLayersCache(dataDir.resolve("cache/jib/application"))
                .addEventHandler(LogEvent.class, logger));
    }

    /** The composed layers as a {@code docker save} tarball: manifest.json, config.json, layer blobs. */
    private static void writeBaseTarball(Composition composition, Spec spec, Path file) throws IOException {
        ObjectNode config = JSON.createObjectNode();
        config.put("architecture", spec.architecture());
        config.put("os", "linux");
        config.put("created", composition.created().toString());
        ObjectNode rootfs = config.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode diffIds = rootfs.putArray("diff_ids");
        ArrayNode history = config.putArray("history");
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("Config", "config.json");
        manifest.putArray("RepoTags");
        ArrayNode layerFiles = manifest.putArray("Layers");
        Map<String, Path> entries = new LinkedHashMap<>();
        for (Composition.Layer layer : composition.layers()) {
            diffIds.add(layer.diffId());
            ObjectNode h = history.addObject();
            h.put("created", composition.created().toString());
            h.put("created_by", "kiln: " + layer.name() + (layer.packages().isEmpty() ? "" : " (" + String.join(", ", layer.packages()) + ")"));
            String name = layer.digest().substring("sha256:".length()) + ".tar.gz";
            layerFiles.add(name);
            entries.put(name, layer.file());
        }
        List<String[]> small = new ArrayList<>();
        small.add(new String[] {"config.json", JSON.writeValueAsString(config)});
        small.add(new String[] {"manifest.json", "[" + JSON.writeValueAsString(manifest) + "]"});
        TarArchive.write(file, entries, small);
    }

    /** Tag lookups against a target. */
    private interface Tags {
        Optional<String> digest(String tag) throws IOException, RegistryException;
    }

    private record LocalTags(LocalStore store, String repository) implements Tags {
        @Override
        public Optional<String> digest(String tag) {
            return store.digest(repository + ":" + tag);
        }
    }

    /** Tag and blob lookups with jib's registry client, authenticated as jib would be for the push. */
    private static final class RegistryTags implements Tags {
        private final RegistryClient client;
        private final List<CredentialRetriever> retrievers;

        private final Credential credential;
        private final Target target;
        private final String repository;
        private final boolean allowHttp;

        RegistryTags(Target target, String repository, boolean allowHttp, RegistryLogin login) throws IOException, RegistryException {
            this.target = target;
            this.repository = repository;
            this.allowHttp = allowHttp;
            Consumer<LogEvent> logger = e -> log.debug("jib: {}", e.getMessage());
            CredentialRetrieverFactory factory = CredentialRetrieverFactory.forImage(ImageReference.of(target.registry(), repository, null), logger);
            this.retrievers = List.of(() -> login.login(target.registry()).map(l -> Credential.from(l.username(), l.password())),
                    factory.dockerConfig(), factory.wellKnownCredentialHelpers());
            Credential credential = null;
            for (CredentialRetriever r : retrievers) {
                try {
                    Optional<Credential> c = r.retrieve();
                    if (c.isPresent()) {
                        credential = c.get();
                        break;
                    }
                } catch (com.google.cloud.tools.jib.registry.credentials.CredentialRetrievalException e) {
                    log.debug("credential retrieval failed: {}", e.getMessage());
                }
            }
            this.credential = credential;
            this.client = RegistryClient.factory(EventHandlers.NONE, target.registry(), repository, new FailoverHttpClient(allowHttp, false, logger))
                    .setCredential(credential).setUserAgent("kiln").newRegistryClient();
            if (!client.doPushBearerAuth() && credential != null) {
                client.configureBasicAuth();
            }
        }

        List<CredentialRetriever> retrievers() {
            return retrievers;
        }

        Optional<Credential> credential() {
            return Optional.ofNullable(credential);
        }

        /**
         * Deletes the manifest {@code digest} (and so every tag naming it). True when deleted, false
         * when it was not there. Bearer-token registries get a token with the delete scope first.
         */
        boolean deleteManifest(String digest) throws IOException, InterruptedException {
            java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().followRedirects(java.net.http.HttpClient.Redirect.NORMAL).build();
            java.net.URI uri = java.net.URI.create((allowHttp ? "http://" : "https://") + target.registry() + "/v2/" + repository
                    + "/manifests/" + digest);
            String basic = credential == null ? null : "Basic " + java.util.Base64.getEncoder().encodeToString(
                    (credential.getUsername() + ":" + credential.getPassword()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            java.net.http.HttpResponse<String> response = http.send(delete(uri, basic), java.net.http.HttpResponse.BodyHandlers.ofString());
            String challenge = response.headers().firstValue("WWW-Authenticate").orElse("");
            if (response.statusCode() == 401 && challenge.startsWith("Bearer ")) {
                String token = bearerToken(http, challenge, basic);
                response = http.send(delete(uri, "Bearer " + token), java.net.http.HttpResponse.BodyHandlers.ofString());
            }
            return switch (response.statusCode()) {
                case 200, 202, 204 -> true;
                case 404 -> false;
                case 405 -> throw new PublishException(target.registry() + " does not allow deleting manifests (HTTP 405); "
                        + "for CNCF distribution set storage.delete.enabled: true");
                default -> throw new PublishException("DELETE " + uri + " answered HTTP " + response.statusCode() + ": " + response.body());
            };
        }

        private static java.net.http.HttpRequest delete(java.net.URI uri, String authorization) {
            var b = java.net.http.HttpRequest.newBuilder(uri).DELETE().timeout(java.time.Duration.ofMinutes(1))
                    .header("Accept", "application/vnd.oci.image.manifest.v1+json");
            if (authorization != null) {
                b.header("Authorization", authorization);
            }
            return b.build();
        }

        private String bearerToken(java.net.http.HttpClient http, String challenge, String basic) throws IOException, InterruptedException {
            Map<String, String> p = new LinkedHashMap<>();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\w+)=\"([^\"]*)\"").matcher(challenge);
            while (m.find()) {
                p.put(m.group(1), m.group(2));
            }
            String scope = p.getOrDefault("scope", "repository:" + repository + ":delete");
            String url = p.get("realm") + "?service=" + java.net.URLEncoder.encode(p.getOrDefault("service", ""), java.nio.charset.StandardCharsets.UTF_8)
                    + "&scope=" + java.net.URLEncoder.encode(scope, java.nio.charset.StandardCharsets.UTF_8);
            var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).GET();
            if (basic != null) {
                b.header("Authorization", basic);
            }
            java.net.http.HttpResponse<String> response = http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new PublishException("token for deleting in " + repository + " refused: HTTP " + response.statusCode());
            }
            JsonNode body = JSON.readTree(response.body());
            return body.has("token") ? body.get("token").asString() : body.path("access_token").asString();
        }

        @Override
        public Optional<String> digest(String tag) throws IOException, RegistryException {
            return client.checkManifest(tag).map(m -> m.getDigest().toString());
        }

        /** Bytes of the layers, config and manifest that the registry does not hold yet. */
        long missingBytes(Composition composition, Path archive) throws IOException, RegistryException, java.security.DigestException {
            long bytes = 0;
            for (Composition.Layer layer : composition.layers()) {
                if (client.checkBlob(com.google.cloud.tools.jib.api.DescriptorDigest.fromDigest(layer.digest())).isEmpty()) {
                    bytes += layer.size();
                }
            }
            // config and manifest: always written
            Set<String> layers = new java.util.HashSet<>();
            composition.layers().forEach(l -> layers.add(l.digest().substring("sha256:".length())));
            return bytes + TarArchive.blobBytesExcept(archive, layers);
        }
    }
}
