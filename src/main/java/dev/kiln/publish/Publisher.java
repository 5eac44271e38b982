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

    public Publisher(Path dataDir, Clock clock, Set<String> insecureRegistries) {
        this.dataDir = dataDir;
        this.store = new LocalStore(dataDir.resolve("store"));
        this.clock = clock;
        this.insecureRegistries = Set.copyOf(insecureRegistries);
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
                    : new RegistryTags(target, repository, allowHttp(target));
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
                registry.retrievers().forEach(image::addCredentialRetriever);
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
            throw new PublishException("publishing to " + target + ": " + cause.getMessage(), e);
        }
    }

    /** Whether {@code tag} in the stack's repository on {@code target} still names {@code digest}. */
    public boolean holds(Target target, String stackRepository, String tag, String digest) {
        String repository = target.repository(stackRepository);
        try {
            Tags tags = target.local() ? new LocalTags(store, repository) : new RegistryTags(target, repository, allowHttp(target));
            return tags.digest(tag).map(digest::equals).orElse(false);
        } catch (IOException | RegistryException e) {
            throw new PublishException("looking up " + reference(target, repository, tag) + ": " + e.getMessage(), e);
        }
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

        RegistryTags(Target target, String repository, boolean allowHttp) throws IOException, RegistryException {
            Consumer<LogEvent> logger = e -> log.debug("jib: {}", e.getMessage());
            CredentialRetrieverFactory factory = CredentialRetrieverFactory.forImage(ImageReference.of(target.registry(), repository, null), logger);
            this.retrievers = List.of(factory.dockerConfig(), factory.wellKnownCredentialHelpers());
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
            this.client = RegistryClient.factory(EventHandlers.NONE, target.registry(), repository, new FailoverHttpClient(allowHttp, false, logger))
                    .setCredential(credential).setUserAgent("kiln").newRegistryClient();
            if (!client.doPushBearerAuth() && credential != null) {
                client.configureBasicAuth();
            }
        }

        List<CredentialRetriever> retrievers() {
            return retrievers;
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
