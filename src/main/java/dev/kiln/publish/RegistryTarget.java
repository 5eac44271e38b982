package dev.kiln.publish;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.util.RawValue;
import com.google.cloud.tools.jib.api.Credential;
import com.google.cloud.tools.jib.api.CredentialRetriever;
import com.google.cloud.tools.jib.api.DescriptorDigest;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.blob.Blobs;
import com.google.cloud.tools.jib.event.EventHandlers;
import com.google.cloud.tools.jib.frontend.CredentialRetrieverFactory;
import com.google.cloud.tools.jib.http.FailoverHttpClient;
import com.google.cloud.tools.jib.image.json.ManifestTemplate;
import com.google.cloud.tools.jib.registry.RegistryClient;
import com.google.cloud.tools.jib.registry.credentials.CredentialRetrievalException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Any OCI registry (CNCF distribution, Harbor, GHCR, a registry behind ECR ...). jib-core does the
 * pushing: blob existence checks, cross-repository mounts, uploads and manifest puts, with credentials
 * from Kiln's own login (ECR), the Docker config and credential helpers. What jib has no API for
 * (raw manifest reads, the referrers API, tag lists, deletes) goes through {@link RegistryHttp}.
 * Mounting needs to know which repository has a blob: {@link BlobLocations} remembers where Kiln put
 * each one.
 */
public final class RegistryTarget implements ImageTarget {

    private static final Logger log = LoggerFactory.getLogger(RegistryTarget.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    static final long MAX_MANIFEST = 4 << 20;
    private static final String FALLBACK_PREFIX = "sha256-";
    private static final java.util.concurrent.ExecutorService PUSHERS = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "kiln-push");
        t.setDaemon(true);
        return t;
    });
    /** Artifact uploads side by side: they are small, so round trips are what they cost. */
    private static final java.util.concurrent.ExecutorService UPLOADS = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "kiln-attach");
        t.setDaemon(true);
        return t;
    });

    private final String host;
    private final String namespace;
    private final boolean plainHttp;
    private final RegistryLogin login;
    private final BlobLocations locations;
    private final String name;
    private RegistryHttp reader;
    private Credential readerCredential;

    /**
     * @param name      how builds record this target (see {@link ImageTarget#name})
     * @param plainHttp whether the registry is reached over plain HTTP (loopback, or configured insecure)
     */
    public RegistryTarget(String name, String host, String namespace, boolean plainHttp, RegistryLogin login, BlobLocations locations) {
        this.name = name;
        this.host = host;
        this.namespace = namespace;
        this.plainHttp = plainHttp;
        this.login = login;
        this.locations = locations;
    }

    public String host() {
        return host;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String repository(String stackRepository) {
        return Target.repository(namespace, stackRepository);
    }

    @Override
    public String reference(String repository, String tag) {
        return host + "/" + repository + ":" + tag;
    }

    @Override
    public Optional<String> pullReference(String repository, String digest) {
        return Optional.of(host + "/" + repository + "@" + digest);
    }

    @Override
    public Optional<String> tagged(String repository, String tag) {
        RegistryHttp.Response r = http().head(repository, "manifests/" + tag, RegistryHttp.ACCEPT_MANIFESTS);
        if (r.status() == 404) {
            return Optional.empty();
        }
        if (r.status() != 200) {
            throw new PublishException("looking up " + reference(repository, tag) + ": HTTP " + r.status());
        }
        if (r.digest() != null && Digests.valid(r.digest())) {
            return Optional.of(r.digest());
        }
        return manifest(repository, tag).map(Manifest::digest);
    }

    @Override
    public Pushed push(String repository, Manifest manifest, List<String> tags) {
        try {
            return push(session(repository), repository, manifest, tags);
        } catch (IOException | RegistryException e) {
            throw new PublishException("pushing to " + reference(repository, tags.isEmpty() ? manifest.digest() : tags.get(0)) + ": "
                    + e.getMessage(), e);
        }
    }

    private Pushed push(Session session, String repository, Manifest manifest, List<String> tags) {
        try {
            Counts counts = new Counts();
            pushContent(session, repository, manifest, counts);
            List<String> names = tags.isEmpty() ? List.of(manifest.digest()) : tags;
            for (String tag : names) {
                session.client().pushManifest(new RawManifest(manifest), tag);
            }
            counts.bytes.addAndGet(manifest.bytes().length);
            // jib only warns when the registry stores other bytes than it sent: check what the tag names now
            for (String tag : tags) {
                Optional<String> now = tagged(repository, tag);
                if (now.isEmpty() || !now.get().equals(manifest.digest())) {
                    throw new PublishException(reference(repository, tag) + ": the registry names " + now.orElse("nothing")
                            + " after Kiln pushed " + manifest.digest());
                }
            }
            return new Pushed(manifest.digest(), counts.bytes.get(), counts.uploaded.get(), counts.mounted.get(), counts.present.get());
        } catch (IOException | RegistryException e) {
            throw new PublishException("pushing to " + reference(repository, tags.isEmpty() ? manifest.digest() : tags.get(0)) + ": "
                    + e.getMessage(), e);
        }
    }

    /** Puts the manifest under {@code tag} (its content is there: the registry checks), then reads the tag back. */
    @Override
    public Pushed tag(String repository, Manifest manifest, String tag) {
        try {
            session(repository).client().pushManifest(new RawManifest(manifest), tag);
        } catch (IOException | RegistryException e) {
            throw new PublishException("tagging " + reference(repository, tag) + ": " + e.getMessage(), e);
        }
        Optional<String> now = tagged(repository, tag);
        if (now.isEmpty() || !now.get().equals(manifest.digest())) {
            throw new PublishException(reference(repository, tag) + ": the registry names " + now.orElse("nothing")
                    + " after Kiln pushed " + manifest.digest());
        }
        return new Pushed(manifest.digest(), manifest.bytes().length, 0, 0, 0);
    }

    /**
     * Pushes the artifacts side by side in one session, then, where the registry has no referrers API,
     * updates each subject's fallback index once for all of them.
     */
    @Override
    public List<Pushed> attach(String repository, List<Manifest> artifacts) {
        artifacts.forEach(Manifest::requireSubject);
        if (artifacts.isEmpty()) {
            return List.of();
        }
        java.util.Set<String> known = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<java.util.concurrent.Future<Pushed>> pending = new ArrayList<>();
        for (Manifest artifact : artifacts) {
            pending.add(UPLOADS.submit(() -> pushArtifact(repository, artifact, known)));
        }
        List<Pushed> pushed = new ArrayList<>();
        for (java.util.concurrent.Future<Pushed> f : pending) {
            try {
                pushed.add(f.get());
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new PublishException(e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PublishException("interrupted attaching to " + host + "/" + repository, e);
            }
        }
        Map<String, List<Manifest>> bySubject = new LinkedHashMap<>();
        artifacts.forEach(a -> bySubject.computeIfAbsent(a.subject().digest(), d -> new ArrayList<>()).add(a));
        bySubject.forEach((subject, referring) -> {
            if (referrersApi(repository, subject).isPresent()) {
                return;
            }
            // no referrers API: keep the index under the subject's fallback tag, as cosign and ORAS do
            String tag = FALLBACK_PREFIX + subject.substring("sha256:".length());
            List<Descriptor> entries = new ArrayList<>(fallback(repository, subject));
            int before = entries.size();
            for (Manifest artifact : referring) {
                if (entries.stream().noneMatch(d -> d.digest().equals(artifact.digest()))) {
                    entries.add(artifact.descriptor());
                }
            }
            if (entries.size() == before) {
                return;
            }
            try {
                pushIndex(repository, tag, entries);
            } catch (PublishException e) {
                // a registry refuses an index naming a manifest it no longer has (a referrer deleted by hand):
                // leave those out and try once more
                List<Descriptor> present = entries.stream().filter(d -> manifest(repository, d.digest()).isPresent()).toList();
                if (present.size() == entries.size()) {
                    throw e;
                }
                pushIndex(repository, tag, present);
            }
        });
        return pushed;
    }

    /**
     * An artifact's blobs and manifest through {@link RegistryHttp}: a check and a two-request upload per
     * blob, one put for the manifest. Artifacts are a few small blobs, so their cost is round trips, and
     * jib's blob protocol (check, open, patch, commit) and session take twice as many as the spec needs.
     * {@code present} remembers blobs known to be there (the empty config every artifact shares).
     */
    private Pushed pushArtifact(String repository, Manifest artifact, java.util.Set<String> present) {
        RegistryHttp http = http();
        long bytes = 0;
        int uploaded = 0;
        int there = 0;
        for (Blob blob : artifact.blobs()) {
            if (present.contains(blob.digest()) || http.head(repository, "blobs/" + blob.digest(), "*/*").status() == 200) {
                present.add(blob.digest());
                there++;
                continue;
            }
            RegistryHttp.Response r = http.upload(repository, blob.digest(), blob.bytes());
            if (r.status() != 201) {
                throw new PublishException("uploading " + blob.digest() + " to " + host + "/" + repository + ": HTTP " + r.status() + " "
                        + new String(r.body(), StandardCharsets.UTF_8));
            }
            present.add(blob.digest());
            bytes += blob.size();
            uploaded++;
        }
        RegistryHttp.Response r = http.put(repository, "manifests/" + artifact.digest(), artifact.mediaType(), artifact.bytes());
        if (r.status() != 201) {
            throw new PublishException("putting " + host + "/" + repository + "@" + artifact.digest() + ": HTTP " + r.status() + " "
                    + new String(r.body(), StandardCharsets.UTF_8));
        }
        if (r.digest() != null && !r.digest().equals(artifact.digest())) {
            throw new PublishException(host + "/" + repository + " stored " + r.digest() + " for the artifact Kiln put as " + artifact.digest());
        }
        return new Pushed(artifact.digest(), bytes + artifact.bytes().length, uploaded, 0, there);
    }

    private void pushIndex(String repository, String tag, List<Descriptor> entries) {
        try {
            session(repository).client().pushManifest(new RawManifest(referrersIndex(entries)), tag);
        } catch (IOException | RegistryException e) {
            throw new PublishException("updating " + reference(repository, tag) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<Descriptor> referrers(String repository, String digest) {
        return referrersApi(repository, digest).orElseGet(() -> fallback(repository, digest));
    }

    @Override
    public Optional<Manifest> manifest(String repository, String reference) {
        RegistryHttp.Response r = http().get(repository, "manifests/" + reference, RegistryHttp.ACCEPT_MANIFESTS, MAX_MANIFEST);
        if (r.status() == 404) {
            return Optional.empty();
        }
        if (r.status() != 200) {
            throw new PublishException("reading " + reference(repository, reference) + ": HTTP " + r.status());
        }
        return Optional.of(Manifest.read(r.contentType(), r.body(), Digests.valid(reference) ? reference : null));
    }

    @Override
    public InputStream blob(String repository, String digest, long maxBytes) {
        InputStream in = http().stream(repository, digest)
                .orElseThrow(() -> new PublishException(host + "/" + repository + ": no blob " + digest));
        return new java.io.FilterInputStream(in) {
            private long read;

            @Override
            public int read() throws IOException {
                int b = super.read();
                count(b < 0 ? 0 : 1);
                return b;
            }

            @Override
            public int read(byte[] buffer, int off, int len) throws IOException {
                int n = super.read(buffer, off, len);
                count(Math.max(0, n));
                return n;
            }

            private void count(int n) throws IOException {
                read += n;
                if (read > maxBytes) {
                    throw new IOException(host + "/" + repository + "@" + digest + ": larger than " + maxBytes + " bytes");
                }
            }
        };
    }

    @Override
    public List<Listed> images(String repository) {
        Map<String, List<String>> byDigest = new LinkedHashMap<>();
        for (String tag : tags(repository)) {
            if (tag.startsWith(FALLBACK_PREFIX)) {
                continue;
            }
            tagged(repository, tag).ifPresent(d -> byDigest.computeIfAbsent(d, x -> new ArrayList<>()).add(tag));
        }
        List<Listed> out = new ArrayList<>();
        byDigest.forEach((d, t) -> out.add(new Listed(d, t, Optional.empty(), Optional.empty())));
        return out;
    }

    @Override
    public boolean pullTimesKnown() {
        return false;
    }

    /**
     * Deletes each image's referrers (recursively), its fallback referrers tag and then the image. A
     * registry deletes a manifest with every tag naming it.
     */
    @Override
    public Map<String, String> delete(String repository, List<String> digests) {
        Map<String, String> failures = new LinkedHashMap<>();
        for (String digest : digests) {
            try {
                deleteWithReferrers(repository, digest, 0);
            } catch (PublishException e) {
                failures.put(digest, e.getMessage());
            }
        }
        return failures;
    }

    private void deleteWithReferrers(String repository, String digest, int depth) {
        if (depth < 4) {
            for (Descriptor referrer : referrers(repository, digest)) {
                deleteWithReferrers(repository, referrer.digest(), depth + 1);
            }
        }
        Optional<String> fallback = tagged(repository, FALLBACK_PREFIX + digest.substring("sha256:".length()));
        if (fallback.isPresent()) {
            deleteManifest(repository, fallback.get());
        }
        deleteManifest(repository, digest);
    }

    private void deleteManifest(String repository, String digest) {
        RegistryHttp.Response r = http().delete(repository, "manifests/" + Digests.check(digest));
        switch (r.status()) {
            case 200, 202, 204, 404 -> {
            }
            case 405 -> throw new PublishException(host + " does not allow deleting manifests (HTTP 405); "
                    + "for CNCF distribution set storage.delete.enabled: true");
            default -> throw new PublishException("DELETE " + host + "/" + repository + "/manifests/" + digest + " answered HTTP " + r.status()
                    + ": " + new String(r.body(), StandardCharsets.UTF_8));
        }
    }

    /** The referrers API's answer, or empty when the registry has no such API (CNCF distribution 2.8). */
    private Optional<List<Descriptor>> referrersApi(String repository, String digest) {
        RegistryHttp.Response r = http().get(repository, "referrers/" + Digests.check(digest), Manifest.OCI_INDEX, MAX_MANIFEST);
        if (r.status() != 200 || !r.contentType().startsWith(Manifest.OCI_INDEX)) {
            return Optional.empty();
        }
        List<Descriptor> out = new ArrayList<>();
        JSON.readTree(r.body()).path("manifests").forEach(m -> out.add(Descriptor.fromJson(m)));
        return Optional.of(out);
    }

    private List<Descriptor> fallback(String repository, String digest) {
        return manifest(repository, FALLBACK_PREFIX + digest.substring("sha256:".length()))
                .map(index -> {
                    List<Descriptor> out = new ArrayList<>();
                    index.json().path("manifests").forEach(m -> out.add(Descriptor.fromJson(m)));
                    return out;
                }).orElse(List.of());
    }

    private static Manifest referrersIndex(List<Descriptor> entries) {
        ObjectNode root = JSON.createObjectNode();
        root.put("schemaVersion", 2);
        root.put("mediaType", Manifest.OCI_INDEX);
        ArrayNode array = root.putArray("manifests");
        entries.forEach(d -> array.add(d.toJson()));
        byte[] bytes = JSON.writeValueAsBytes(root);
        return Manifest.read(Manifest.OCI_INDEX, bytes, null);
    }

    private List<String> tags(String repository) {
        List<String> out = new ArrayList<>();
        String path = "tags/list?n=1000";
        for (int page = 0; page < 1000 && path != null; page++) {
            RegistryHttp.Response r = http().get(repository, path, "application/json", 16 << 20);
            if (r.status() == 404) {
                return out;
            }
            if (r.status() != 200) {
                throw new PublishException("listing the tags of " + host + "/" + repository + ": HTTP " + r.status());
            }
            JSON.readTree(r.body()).path("tags").forEach(t -> out.add(t.asString()));
            path = next(r.link(), repository);
        }
        return out;
    }

    /** The next page from a {@code Link: </v2/REPO/tags/list?last=X&n=N>; rel="next"} header, relative to the repository. */
    private static String next(String link, String repository) {
        if (link == null || !link.contains("rel=\"next\"")) {
            return null;
        }
        String target = link.substring(link.indexOf('<') + 1, link.indexOf('>'));
        String prefix = "/v2/" + repository + "/";
        return target.startsWith(prefix) ? target.substring(prefix.length()) : null;
    }

    private void pushContent(Session session, String repository, Manifest manifest, Counts counts) throws IOException, RegistryException {
        for (Manifest child : manifest.manifests()) {
            pushContent(session, repository, child, counts);
            session.client().pushManifest(new RawManifest(child), child.digest());
            counts.bytes.addAndGet(child.bytes().length);
        }
        // blobs go up a few at a time, as jib and docker push do: one stream rarely fills the link
        List<java.util.concurrent.Future<Void>> pushes = new ArrayList<>();
        for (Blob blob : manifest.blobs()) {
            pushes.add(PUSHERS.submit(() -> {
                pushBlob(session, repository, blob, counts);
                return null;
            }));
        }
        try {
            for (java.util.concurrent.Future<Void> push : pushes) {
                push.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pushes.forEach(p -> p.cancel(true));
            throw new PublishException("interrupted while pushing to " + host + "/" + repository, e);
        } catch (java.util.concurrent.ExecutionException e) {
            pushes.forEach(p -> p.cancel(true));
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RegistryException re) {
                throw re;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new PublishException("pushing to " + host + "/" + repository + ": " + e.getCause(), e.getCause());
        }
    }

    private void pushBlob(Session session, String repository, Blob blob, Counts counts) throws IOException, RegistryException {
        DescriptorDigest digest = digest(blob.digest());
        if (session.client().checkBlob(digest).isPresent()) {
            counts.present.incrementAndGet();
            locations.remember(host, blob.digest(), repository);
            return;
        }
        com.google.cloud.tools.jib.blob.Blob content = blob.file() != null ? Blobs.from(blob.file())
                : Blobs.from(out -> out.write(blob.bytes()), true);
        Optional<String> source = locations.find(host, blob.digest()).filter(r -> !r.equals(repository));
        boolean mounted = false;
        if (source.isPresent()) {
            mounted = session.mounting(source.get()).pushBlob(digest, content, source.get(), n -> { });
        }
        if (mounted) {
            counts.mounted.incrementAndGet();
        } else {
            if (source.isEmpty()) {
                session.client().pushBlob(digest, content, null, n -> { });
            }
            // a refused mount falls back to an upload inside jib's push
            counts.uploaded.incrementAndGet();
            counts.bytes.addAndGet(blob.size());
        }
        locations.remember(host, blob.digest(), repository);
    }

    private static DescriptorDigest digest(String digest) {
        try {
            return DescriptorDigest.fromDigest(digest);
        } catch (DigestException e) {
            throw new PublishException("not a digest: " + digest, e);
        }
    }

    private static final class Counts {
        final AtomicLong bytes = new AtomicLong();
        final AtomicInteger uploaded = new AtomicInteger();
        final AtomicInteger mounted = new AtomicInteger();
        final AtomicInteger present = new AtomicInteger();
    }

    /** jib clients for one repository, authenticated for push; mounting needs a token that also covers the source. */
    private final class Session {
        private final String repository;
        private final Credential credential;
        private final RegistryClient client;
        private final Map<String, RegistryClient> mounting = new LinkedHashMap<>();

        Session(String repository) throws IOException, RegistryException {
            this.repository = repository;
            this.credential = credential(repository);
            this.client = newClient(null);
        }

        RegistryClient client() {
            return client;
        }

        synchronized RegistryClient mounting(String source) throws IOException, RegistryException {
            RegistryClient c = mounting.get(source);
            if (c == null) {
                c = newClient(source);
                mounting.put(source, c);
            }
            return c;
        }

        private RegistryClient newClient(String source) throws IOException, RegistryException {
            Consumer<LogEvent> logger = e -> log.debug("jib: {}", e.getMessage());
            RegistryClient c = RegistryClient.factory(EventHandlers.NONE, host, repository, source, new FailoverHttpClient(plainHttp, false, logger))
                    .setCredential(credential).setUserAgent("kiln").newRegistryClient();
            if (!c.doPushBearerAuth() && credential != null) {
                c.configureBasicAuth();
            }
            return c;
        }
    }

    private Session session(String repository) throws IOException, RegistryException {
        return new Session(repository);
    }

    /** One reader per credential: ECR's token is renewed every few hours, the Docker config may change. */
    private synchronized RegistryHttp http() {
        Credential c = credential(null);
        if (reader == null || !java.util.Objects.equals(c, readerCredential)) {
            reader = new RegistryHttp(host, plainHttp, c == null ? null : new RegistryLogin.Login(c.getUsername(), c.getPassword()));
            readerCredential = c;
        }
        return reader;
    }

    /** Kiln's own login first (ECR), then the Docker config and the well-known credential helpers. */
    private Credential credential(String repository) {
        Consumer<LogEvent> logger = e -> log.debug("jib: {}", e.getMessage());
        CredentialRetrieverFactory factory = CredentialRetrieverFactory.forImage(ImageReference.of(host, repository == null ? "library/x" : repository, null), logger);
        List<CredentialRetriever> retrievers = List.of(() -> login.login(host).map(l -> Credential.from(l.username(), l.password())),
                factory.dockerConfig(), factory.wellKnownCredentialHelpers());
        for (CredentialRetriever r : retrievers) {
            try {
                Optional<Credential> c = r.retrieve();
                if (c.isPresent()) {
                    return c.get();
                }
            } catch (CredentialRetrievalException e) {
                log.debug("credential retrieval failed: {}", e.getMessage());
            }
        }
        return null;
    }

    /**
     * Hands jib a manifest's exact bytes: jib serialises a template with Jackson and computes the digest
     * from the same serialisation, so a raw value keeps Kiln's bytes and digest (jib's own templates know
     * neither {@code subject} nor {@code artifactType}).
     */
    static final class RawManifest implements ManifestTemplate {
        private final String json;
        private final String mediaType;

        RawManifest(Manifest manifest) {
            this.json = new String(manifest.bytes(), StandardCharsets.UTF_8);
            this.mediaType = manifest.mediaType();
        }

        @JsonValue
        RawValue raw() {
            return new RawValue(json);
        }

        @Override
        public int getSchemaVersion() {
            return 2;
        }

        @Override
        public String getManifestMediaType() {
            return mediaType;
        }
    }

    static JsonNode parse(byte[] bytes) {
        return JSON.readTree(bytes);
    }
}
