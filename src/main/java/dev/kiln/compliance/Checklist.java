package dev.kiln.compliance;

import dev.kiln.image.LayerInspector;
import dev.kiln.publish.ImageTarget;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;

/**
 * The compliance checklist of one build: each item judged from what was measured in that build (its
 * pushed config and layers, its target's answers, its scan, its signature and documents), never from
 * what the stack or Kiln's settings say should be there, with the evidence in words and the
 * recommendations it answers (the sections of the requirement documents in {@code shared/seeds}).
 * A pure function of the recorded facts: the same build always gets the same checklist.
 */
public final class Checklist {

    private Checklist() {
    }

    public enum Status {
        PASS, WARN, FAIL, NOT_APPLICABLE, NOT_MEASURED;

        @com.fasterxml.jackson.annotation.JsonValue
        public String id() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** A section of a requirement document: the file in {@code shared/seeds} and its heading. */
    public record Recommendation(String source, String section) {
    }

    public record Item(String id, String title, Status status, String evidence, List<Recommendation> recommendations) {
        public Item {
            recommendations = List.copyOf(recommendations);
        }
    }

    /**
     * What a build recorded, read back: {@code definition} is the stack as canonical JSON, {@code config}
     * the image config as pushed, {@code inspection} its measurement (null: not measured), {@code scan}
     * the target's scan evidence (null: none).
     */
    public record Input(long build, String status, String target, JsonNode definition, JsonNode config, Inspection inspection, JsonNode scan,
                        EvidenceView.Status evidence) {
    }

    public record Result(long build, List<Item> items) {
        public Result {
            items = List.copyOf(items);
        }

        public long count(Status status) {
            return items.stream().filter(i -> i.status() == status).count();
        }

        /** "9 pass, 2 warn, 1 fail, 1 n/a" */
        public String summary() {
            List<String> parts = new ArrayList<>();
            for (Status s : Status.values()) {
                long n = count(s);
                if (n > 0) {
                    parts.add(n + " " + (s == Status.NOT_APPLICABLE ? "n/a" : s.id()));
                }
            }
            return String.join(", ", parts);
        }
    }

    private static final String MINIMAL_000 = "000_cf0ac929142854be.txt";
    private static final String IMAGE_001 = "001_9038d1e575d7d038.txt";
    private static final String CHECKLIST_003 = "003_3b8b873ed7326b5d.txt";
    private static final String DOCKERFILE_004 = "004_12a319c29fec7ed9.txt";
    private static final Recommendation BUILDING_003 = new Recommendation(CHECKLIST_003, "Building Docker Images - Best Practices");

    /** The labels every Kiln image carries: OCI's own and the ones that tie it to its build. */
    static final List<String> LABELS = List.of("org.opencontainers.image.created", "org.opencontainers.image.version",
            "org.opencontainers.image.title", "org.opencontainers.image.description", "org.opencontainers.image.authors",
            "org.opencontainers.image.vendor", "dev.kiln.stack", "dev.kiln.stack.digest", "dev.kiln.lock.digest");

    public static Result of(Input in) {
        List<Item> items = new ArrayList<>();
        items.add(nonRootUser(in));
        items.add(measured(in, "no-setuid", "No setuid or setgid file", Checklist::setuid,
                new Recommendation(MINIMAL_000, "Remove special permissions from your images"),
                new Recommendation(IMAGE_001, "Create minimal images"), BUILDING_003));
        items.add(measured(in, "no-shells", "No shell, when the stack removes them", i -> removable(in, i, "removeShells", "shell",
                        LayerInspector.Facts::shells),
                new Recommendation(MINIMAL_000, "Create minimal or use distroless images"), new Recommendation(IMAGE_001, "Create minimal images"),
                new Recommendation(DOCKERFILE_004, "Distroless, from scratch"), BUILDING_003));
        items.add(measured(in, "no-package-managers", "No package manager, when the stack removes them",
                i -> removable(in, i, "removePackageManagers", "package manager", LayerInspector.Facts::packageManagers),
                new Recommendation(MINIMAL_000, "Create minimal or use distroless images"), new Recommendation(IMAGE_001, "Create minimal images"),
                new Recommendation(DOCKERFILE_004, "Distroless, from scratch")));
        items.add(measured(in, "read-only-root-fs", "Runs with a read-only root file system", i -> readOnly(in, i),
                new Recommendation(MINIMAL_000, "Use a read-only root file system")));
        items.add(measured(in, "root-owned", "Files owned by root and not writable", i -> rootOwned(in, i),
                new Recommendation(DOCKERFILE_004, "Make executable owned by root and not writable")));
        items.add(measured(in, "immutable-tag", "Immutable tag", i -> immutableTag(i),
                new Recommendation(MINIMAL_000, "Use immutable tags with Amazon ECR"), new Recommendation(IMAGE_001, "Use immutable tags with ECR"),
                new Recommendation(DOCKERFILE_004, "Tag mutability")));
        items.add(signed(in));
        items.add(sbom(in));
        items.add(scanned(in));
        items.add(labels(in));
        items.add(measured(in, "no-secrets", "No secrets in the layers", Checklist::secrets,
                new Recommendation(DOCKERFILE_004, "Credentials and confidentiality"), BUILDING_003));
        items.add(measured(in, "customer-key", "Encrypted with a customer managed key (ECR, where configured)", Checklist::customerKey,
                new Recommendation(MINIMAL_000, "Use a customer managed key (CMK) to encrypt images pushed to Amazon ECR")));
        return new Result(in.build(), items);
    }

    private record Verdict(Status status, String evidence) {
    }

    private static Item measured(Input in, String id, String title, Function<Inspection, Verdict> judge, Recommendation... refs) {
        if (in.inspection() == null) {
            return new Item(id, title, Status.NOT_MEASURED, notMeasured(in), List.of(refs));
        }
        Verdict v = judge.apply(in.inspection());
        return new Item(id, title, v.status(), v.evidence(), List.of(refs));
    }

    private static String notMeasured(Input in) {
        return in.status() == null || in.status().equals("failed") || in.status().equals("queued") || in.status().equals("running")
                ? "no image: build " + in.build() + " is " + in.status()
                : "not measured: build " + in.build() + " was recorded before Kiln measured the images it pushed";
    }

    private static Item nonRootUser(Input in) {
        List<Recommendation> refs = List.of(new Recommendation(MINIMAL_000, "Run containers as a non-root user"),
                new Recommendation(IMAGE_001, "Add the USER directive to your Dockerfiles to run as a non-root user"),
                new Recommendation(DOCKERFILE_004, "Rootless containers"), BUILDING_003);
        if (in.config() == null) {
            return new Item("non-root-user", "Runs as a non-root numeric user", Status.NOT_MEASURED, notMeasured(in), refs);
        }
        String user = in.config().path("config").path("User").asString("");
        Status status;
        String evidence;
        if (!user.matches("[0-9]+(:[0-9]+)?")) {
            status = Status.FAIL;
            evidence = user.isEmpty() ? "the pushed config sets no User: the image runs as root"
                    : "the pushed config's User '" + user + "' is a name, not a numeric uid: a runtime cannot tell it is not root";
        } else if (Long.parseLong(user.split(":")[0]) == 0) {
            status = Status.FAIL;
            evidence = "the pushed config's User is " + user + ": root";
        } else {
            status = Status.PASS;
            evidence = "the pushed config's User is " + user + " (numeric uid" + (user.contains(":") ? ":gid" : "") + ", not root)";
        }
        return new Item("non-root-user", "Runs as a non-root numeric user", status, evidence, refs);
    }

    private static Verdict setuid(Inspection i) {
        long count = i.layers().stream().mapToLong(LayerInspector.Facts::setuidCount).sum();
        if (count == 0) {
            return new Verdict(Status.PASS, "no entry with the setuid or setgid bit among " + entries(i));
        }
        return new Verdict(Status.FAIL, count + " entr" + (count == 1 ? "y has" : "ies have") + " the setuid or setgid bit: "
                + list(i.layers().stream().flatMap(l -> l.setuid().stream()).map(e -> e.path() + " (" + e.mode() + ")").toList(), count));
    }

    private static Verdict removable(Input in, Inspection i, String setting, String what, Function<LayerInspector.Facts, List<String>> found) {
        List<String> paths = i.layers().stream().flatMap(l -> found.apply(l).stream()).toList();
        boolean asked = in.definition() != null && in.definition().path("hardening").path(setting).asBoolean(false);
        if (!asked) {
            return new Verdict(Status.NOT_APPLICABLE, "the stack keeps them (hardening." + setting + " is not set); "
                    + (paths.isEmpty() ? "none found" : "found: " + list(paths, paths.size())));
        }
        if (paths.isEmpty()) {
            return new Verdict(Status.PASS, "hardening." + setting + " is set and no " + what + " is in the " + i.layers().size()
                    + " layers pushed");
        }
        return new Verdict(Status.FAIL, "hardening." + setting + " is set, but the layers hold " + list(paths, paths.size()));
    }

    private static Verdict readOnly(Input in, Inspection i) {
        List<String> volumes = new ArrayList<>();
        if (in.config() != null) {
            fieldNames(in.config().path("config").path("Volumes")).forEachRemaining(volumes::add);
        }
        String uid = uid(in);
        String home = home(in);
        List<String> writable = new ArrayList<>();
        for (LayerInspector.Facts l : i.layers()) {
            for (LayerInspector.Entry e : l.notRootOwned()) {
                if (String.valueOf(e.uid()).equals(uid) && e.mode().length() >= 3 && (e.mode().charAt(e.mode().length() - 3) & 2) != 0
                        && !e.path().equals(home)) {
                    writable.add(e.path() + " (owner " + e.uid() + ", " + e.mode() + ")");
                }
            }
            for (LayerInspector.Entry e : l.writable()) {
                if (!sticky(e)) {
                    writable.add(e.path() + " (" + e.mode() + ")");
                }
            }
        }
        if (!volumes.isEmpty()) {
            return new Verdict(Status.FAIL, "the config declares volumes " + volumes + ": the image expects to write there");
        }
        if (!writable.isEmpty()) {
            return new Verdict(Status.FAIL, "writable besides /tmp, /var/tmp and the user's home: " + list(writable, writable.size()));
        }
        return new Verdict(Status.PASS, "no VOLUME in the config, and the user" + (uid == null ? "" : " (uid " + uid + ")")
                + " can write nowhere but /tmp, /var/tmp" + (home == null ? "" : " and " + home)
                + ": the image runs unchanged with --read-only (give it a tmpfs at /tmp for scratch)");
    }

    private static Verdict rootOwned(Input in, Inspection i) {
        String home = home(in);
        List<String> owned = i.layers().stream().flatMap(l -> l.notRootOwned().stream()).filter(e -> !e.path().equals(home))
                .map(e -> e.path() + " (" + e.uid() + ":" + e.gid() + ")").toList();
        long ownedCount = i.layers().stream().mapToLong(LayerInspector.Facts::notRootOwnedCount).sum()
                - i.layers().stream().flatMap(l -> l.notRootOwned().stream()).filter(e -> e.path().equals(home)).count();
        List<String> writable = i.layers().stream().flatMap(l -> l.writable().stream()).filter(e -> !sticky(e))
                .map(e -> e.path() + " (" + e.mode() + ")").toList();
        if (ownedCount == 0 && writable.isEmpty()) {
            return new Verdict(Status.PASS, "every entry is owned by root:root" + (home == null ? "" : " (the user's home " + home + " aside)")
                    + " and none is writable by group or others (sticky /tmp and /var/tmp aside), among " + entries(i));
        }
        List<String> problems = new ArrayList<>();
        if (ownedCount > 0) {
            problems.add("not owned by root: " + list(owned, ownedCount));
        }
        if (!writable.isEmpty()) {
            problems.add("writable by group or others: " + list(writable, writable.size()));
        }
        return new Verdict(Status.FAIL, String.join("; ", problems));
    }

    private static Verdict immutableTag(Inspection i) {
        Inspection.Target t = i.target();
        if (t == null) {
            return new Verdict(Status.NOT_MEASURED, "the target's answers were not recorded");
        }
        ImageTarget.Protection p = t.protection();
        String pushed = t.newTag() ? "Kiln pushed the new tag " + t.tag() : "the tag " + t.tag() + " already named this digest";
        if (p == null) {
            return new Verdict(Status.WARN, pushed + " and never re-points a tag (it checks before every push), but " + t.name()
                    + " does not enforce immutability: anyone with push rights could move it; pull by digest");
        }
        return switch (p.tagMutability() == null ? "" : p.tagMutability()) {
            case "IMMUTABLE" -> new Verdict(Status.PASS, pushed + "; the repository's tags are IMMUTABLE");
            case "IMMUTABLE_WITH_EXCLUSION" -> p.mutableTags().stream().anyMatch(w -> wildcard(w, t.tag()))
                    ? new Verdict(Status.FAIL, "the repository exempts " + p.mutableTags() + " from immutability, which covers " + t.tag())
                    : new Verdict(Status.PASS, pushed + "; the repository's tags are immutable except " + p.mutableTags() + ", which "
                    + t.tag() + " is not");
            default -> new Verdict(Status.FAIL, "the repository's tag mutability is " + p.tagMutability() + ": " + t.tag() + " can be moved");
        };
    }

    private static Item signed(Input in) {
        List<Recommendation> refs = List.of(new Recommendation(IMAGE_001, "Sign your images"),
                new Recommendation(DOCKERFILE_004, "Sign images and verify signatures"), BUILDING_003);
        if (in.inspection() == null && in.evidence().documents().isEmpty() && !in.evidence().signed()) {
            return new Item("signed", "Signed", Status.NOT_MEASURED, notMeasured(in), refs);
        }
        return new Item("signed", "Signed", in.evidence().signed() ? Status.PASS : Status.FAIL, in.evidence().summary(), refs);
    }

    private static Item sbom(Input in) {
        List<Recommendation> refs = List.of(new Recommendation(MINIMAL_000, "Scan application packages and libraries for vulnerabilities"),
                new Recommendation(DOCKERFILE_004, "Use trusted base images"));
        EvidenceView.Status e = in.evidence();
        String title = "SBOM attached";
        if (e.attached(EvidenceView.Kind.SPDX) && e.attached(EvidenceView.Kind.CYCLONEDX)) {
            return new Item("sbom", title, Status.PASS, "SPDX and CycloneDX SBOMs are attached to the image as signed attestations", refs);
        }
        if (e.has(EvidenceView.Kind.SPDX) && e.has(EvidenceView.Kind.CYCLONEDX)) {
            String digests = e.documents().stream().filter(d -> d.kind() == EvidenceView.Kind.SPDX || d.kind() == EvidenceView.Kind.CYCLONEDX)
                    .map(d -> d.kind().title() + " " + d.sha256()).collect(Collectors.joining(", "));
            return new Item("sbom", title, Status.WARN, "generated and kept with the build (" + digests
                    + "), but not attached to the image: the image is not signed", refs);
        }
        if (in.inspection() == null) {
            return new Item("sbom", title, Status.NOT_MEASURED, notMeasured(in), refs);
        }
        return new Item("sbom", title, Status.FAIL, "no SBOM was recorded for this build", refs);
    }

    private static Item scanned(Input in) {
        List<Recommendation> refs = List.of(new Recommendation(MINIMAL_000, "Scan your images for vulnerabilities"),
                new Recommendation(IMAGE_001, "Scan images for vulnerabilities regularly"), BUILDING_003);
        String title = "Scanned (ECR), findings under the gate";
        boolean ecr = in.target() != null && in.target().startsWith("ecr:");
        if (in.scan() == null || in.scan().isNull()) {
            if (in.inspection() == null) {
                return new Item("scanned", title, Status.NOT_MEASURED, notMeasured(in), refs);
            }
            return ecr ? new Item("scanned", title, Status.WARN, "no scan gate is configured (kiln.ecr.scan-gate-severity): ECR's scan "
                    + "was not waited for", refs)
                    : new Item("scanned", title, Status.NOT_APPLICABLE, in.target() + " does not scan images; the SBOMs list every "
                    + "package for a scanner of your own", refs);
        }
        String severities = in.scan().path("severities").toString();
        String gate = in.scan().path("gate").asString("");
        String status = in.scan().path("status").asString("");
        // an index: ECR scanned each platform image, and the counts above are their sum
        List<String> each = new ArrayList<>();
        in.scan().path("platforms").forEach(p -> each.add(p.path("platform").asString("") + " " + p.path("status").asString("") + " "
                + p.path("severities")));
        String platforms = each.isEmpty() ? "" : " (each platform image: " + String.join(", ", each) + ")";
        if ("quarantined".equals(in.status())) {
            return new Item("scanned", title, Status.FAIL, "ECR scan " + status + ": findings at or above " + gate + " " + severities
                    + platforms + "; the image was quarantined, never approved", refs);
        }
        return new Item("scanned", title, "COMPLETE".equals(status) ? Status.PASS : Status.WARN, "ECR scan " + status + ", gate " + gate
                + ": " + (severities.equals("{}") ? "no findings" : severities + ", none at or above the gate") + platforms, refs);
    }

    private static Item labels(Input in) {
        List<Recommendation> refs = List.of(new Recommendation(DOCKERFILE_004, "Metadata labels"));
        if (in.config() == null) {
            return new Item("labels", "Labels present", Status.NOT_MEASURED, notMeasured(in), refs);
        }
        JsonNode labels = in.config().path("config").path("Labels");
        List<String> missing = LABELS.stream().filter(l -> labels.path(l).asString("").isBlank()).toList();
        if (missing.isEmpty()) {
            return new Item("labels", "Labels present", Status.PASS, "the pushed config carries " + LABELS.size() + " required labels ("
                    + labels.path("org.opencontainers.image.title").asString() + " " + labels.path("org.opencontainers.image.version").asString()
                    + ", by " + labels.path("org.opencontainers.image.authors").asString() + ") and " + (labels.size() - LABELS.size())
                    + " more", refs);
        }
        return new Item("labels", "Labels present", Status.FAIL, "missing from the pushed config: " + String.join(", ", missing), refs);
    }

    private static Verdict secrets(Inspection i) {
        long count = i.layers().stream().mapToLong(LayerInspector.Facts::secretCount).sum();
        long files = i.layers().stream().mapToLong(LayerInspector.Facts::files).sum();
        long bytes = i.layers().stream().mapToLong(LayerInspector.Facts::bytesScanned).sum();
        if (count == 0) {
            return new Verdict(Status.PASS, "scanned " + files + " files (" + (bytes + 512 * 1024) / (1024 * 1024) + " MiB) in "
                    + i.layers().size() + " layers for private keys (PEM, PuTTY) and AWS, GitHub, GitLab, Slack, Stripe and Google tokens: none");
        }
        return new Verdict(Status.FAIL, count + " found: " + list(i.layers().stream().flatMap(l -> l.secrets().stream())
                .map(s -> s.kind() + " in " + s.path() + " (" + s.masked() + ")").toList(), count));
    }

    private static Verdict customerKey(Inspection i) {
        ImageTarget.Protection p = i.target() == null ? null : i.target().protection();
        if (p == null) {
            return new Verdict(Status.NOT_APPLICABLE, (i.target() == null ? "the target" : i.target().name())
                    + " is not ECR: encryption at rest is the registry's own");
        }
        if (p.configuredKey() == null) {
            return new Verdict(Status.NOT_APPLICABLE, "no customer managed key is configured (kiln.ecr.kms-key); ECR encrypts with "
                    + p.encryption() + (p.kmsKey() == null ? "" : " (" + p.kmsKey() + ")"));
        }
        boolean kms = p.encryption() != null && p.encryption().startsWith("KMS");
        boolean same = p.kmsKey() != null && (p.kmsKey().equals(p.configuredKey()) || p.kmsKey().endsWith("/" + p.configuredKey())
                || p.kmsKey().endsWith(":" + p.configuredKey()));
        if (kms && same) {
            return new Verdict(Status.PASS, "the repository is encrypted with " + p.encryption() + " under the configured key " + p.kmsKey());
        }
        return new Verdict(Status.FAIL, "the configured key is " + p.configuredKey() + ", but the repository is encrypted with "
                + p.encryption() + (p.kmsKey() == null ? "" : " under " + p.kmsKey())
                + " (ECR sets a repository's encryption when it is created; recreate it to change it)");
    }

    private static boolean sticky(LayerInspector.Entry e) {
        return e.type().equals("directory") && (e.path().equals("/tmp") || e.path().equals("/var/tmp")) && e.mode().length() >= 4
                && (e.mode().charAt(e.mode().length() - 4) & 1) != 0;
    }

    private static String uid(Input in) {
        if (in.config() != null) {
            String user = in.config().path("config").path("User").asString("");
            if (!user.isEmpty()) {
                return user.split(":")[0];
            }
        }
        return in.definition() == null ? null : in.definition().path("user").path("uid").asString(null);
    }

    private static String home(Input in) {
        String name = in.definition() == null ? "" : in.definition().path("user").path("name").asString("");
        return name.isEmpty() ? null : "/home/" + name;
    }

    private static String entries(Inspection i) {
        return i.layers().stream().mapToLong(LayerInspector.Facts::entries).sum() + " entries in " + i.layers().size() + " layers";
    }

    private static String list(List<String> items, long total) {
        List<String> shown = items.stream().limit(5).toList();
        return String.join(", ", shown) + (total > shown.size() ? " and " + (total - shown.size()) + " more" : "");
    }

    /** ECR's tag wildcards: {@code *} matches any run of characters. */
    static boolean wildcard(String pattern, String tag) {
        StringBuilder regex = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            regex.append(c == '*' ? ".*" : java.util.regex.Pattern.quote(String.valueOf(c)));
        }
        return tag.matches(regex.toString());
    }

    private static Iterator<String> fieldNames(JsonNode node) {
        return node == null || !node.isObject() ? java.util.Collections.emptyIterator() : node.propertyNames().iterator();
    }
}
