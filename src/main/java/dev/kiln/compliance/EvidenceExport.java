package dev.kiln.compliance;

import dev.kiln.history.AuditChain;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.History;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The evidence of a period for compliance review: every build requested, started or finished and every
 * audit entry written in [since, until) as CSV and as JSON (the JSON follows
 * {@code /schemas/evidence-export.schema.json}), and a zip of both with each image approved in the
 * period (its build succeeded, finishing in it, whenever it was requested): its SBOMs, provenance and
 * rebuild record byte for byte as recorded, its checklist, and a {@code SHA256SUMS} of every file.
 */
public final class EvidenceExport {

    public static final String FORMAT = "kiln-evidence-export/v1";
    public static final int MAX_ROWS = 10_000;
    public static final List<String> BUILD_COLUMNS = List.of("id", "stack", "status", "trigger", "triggered_by", "requested_at",
            "started_at", "finished_at", "duration_seconds", "catalog_revision", "kiln_version", "stack_digest", "lock_digest", "target",
            "repository", "tag", "image_digest", "compressed_bytes", "package_changes", "previous_build_id", "approved", "signed",
            "checklist", "checklist_failed", "failure_reason");
    public static final List<String> AUDIT_COLUMNS = List.of("seq", "id", "at", "actor", "action", "subject", "detail", "prev_hash", "hash");

    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private final BuildQueries queries;
    private final AuditChain chain;
    private final BuildCompliance compliance;
    private final String kilnVersion;

    public EvidenceExport(BuildQueries queries, AuditChain chain, BuildCompliance compliance, String kilnVersion) {
        this.queries = queries;
        this.chain = chain;
        this.compliance = compliance;
        this.kilnVersion = kilnVersion;
    }

    /** A period too large to export at once. */
    public static final class TooLarge extends RuntimeException {
        public TooLarge(String message) {
            super(message);
        }
    }

    /** The period's records, read once for whichever form is written. */
    public final class Period {
        private final Instant since;
        private final Instant until;
        private final String by;
        private final List<History.Build> builds;
        private final List<AuditChain.Entry> audit;
        private final AuditChain.Verification verification;
        private final Map<Long, Checklist.Result> checklists = new LinkedHashMap<>();
        private final Map<Long, EvidenceView.Status> evidence = new LinkedHashMap<>();

        private Period(Instant since, Instant until, String by) {
            this.since = since;
            this.until = until;
            this.by = by;
            this.builds = queries.during(since, until, MAX_ROWS + 1);
            if (builds.size() > MAX_ROWS) {
                throw new TooLarge("more than " + MAX_ROWS + " builds from " + since + " to " + until + "; export a shorter period");
            }
            this.audit = chain.entries(since, until, MAX_ROWS + 1);
            if (audit.size() > MAX_ROWS) {
                throw new TooLarge("more than " + MAX_ROWS + " audit entries from " + since + " to " + until + "; export a shorter period");
            }
            this.verification = chain.verify();
        }

        public List<History.Build> builds() {
            return builds;
        }

        private Checklist.Result checklist(History.Build b) {
            return checklists.computeIfAbsent(b.id(), id -> compliance.checklist(b));
        }

        private EvidenceView.Status evidence(long build) {
            return evidence.computeIfAbsent(build, compliance.evidence()::status);
        }
    }

    /** Reads the period; {@code by} is who exports it (recorded in the JSON). */
    public Period period(Instant since, Instant until, String by) {
        if (!until.isAfter(since)) {
            throw new IllegalArgumentException("until (" + until + ") must be after since (" + since + ")");
        }
        return new Period(since, until, by);
    }

    // ---- CSV ----------------------------------------------------------------------------------

    public void buildsCsv(Period p, Writer out) throws IOException {
        row(out, BUILD_COLUMNS);
        for (History.Build b : p.builds) {
            boolean image = b.imageDigest() != null;
            Checklist.Result checklist = image ? p.checklist(b) : null;
            row(out, List.of(Long.toString(b.id()), b.stack(), b.status(), b.trigger(), b.triggeredBy(), text(b.requestedAt()),
                    text(b.startedAt()), text(b.finishedAt()), duration(b), text(b.catalogRevision()), text(b.kilnVersion()),
                    text(b.stackDigest()), text(b.lockDigest()), text(b.target()), text(b.repository()), tag(b), text(b.imageDigest()),
                    text(b.compressedBytes()), changes(b.packageDiff()), text(b.previousBuildId()), Boolean.toString(approved(b)),
                    Boolean.toString(image && p.evidence(compliance.imageBuild(b)).signed()), checklist == null ? "" : checklist.summary(),
                    checklist == null ? "" : failed(checklist), text(b.failureReason())));
        }
        out.flush();
    }

    public void auditCsv(Period p, Writer out) throws IOException {
        row(out, AUDIT_COLUMNS);
        for (AuditChain.Entry e : p.audit) {
            row(out, List.of(Long.toString(e.seq()), Long.toString(e.id()), e.at().toString(), e.actor(), e.action(), e.subject(),
                    e.detail().toString(), e.prevHash(), e.hash()));
        }
        out.flush();
    }

    /** One RFC 4180 line; a text that a spreadsheet would take for a formula is prefixed with a quote. */
    static void row(Writer out, List<String> fields) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < fields.size(); i++) {
            String f = fields.get(i) == null ? "" : fields.get(i);
            if (!f.isEmpty() && "=+-@\t\r".indexOf(f.charAt(0)) >= 0 && !f.matches("-?[0-9.]+")) {
                f = "'" + f;
            }
            if (f.indexOf(',') >= 0 || f.indexOf('"') >= 0 || f.indexOf('\n') >= 0 || f.indexOf('\r') >= 0) {
                f = '"' + f.replace("\"", "\"\"") + '"';
            }
            line.append(i == 0 ? "" : ",").append(f);
        }
        out.write(line.append("\r\n").toString());
    }

    // ---- JSON ---------------------------------------------------------------------------------

    public Map<String, Object> json(Period p) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", FORMAT);
        root.put("since", p.since.toString());
        root.put("until", p.until.toString());
        root.put("generatedAt", Instant.now().toString());
        root.put("generatedBy", p.by);
        root.put("kilnVersion", kilnVersion);
        List<Map<String, Object>> builds = new ArrayList<>();
        List<Map<String, Object>> approved = new ArrayList<>();
        for (History.Build b : p.builds) {
            builds.add(build(p, b));
        }
        for (History.Build b : approvedImages(p)) {
            approved.add(approvedImage(p, b));
        }
        root.put("builds", builds);
        root.put("approvedImages", approved);
        Map<String, Object> audit = new LinkedHashMap<>();
        Map<String, Object> check = new LinkedHashMap<>();
        check.put("intact", p.verification.intact());
        check.put("rows", p.verification.rows());
        check.put("headSeq", p.verification.headSeq());
        check.put("headHash", p.verification.headHash());
        check.put("broken", p.verification.broken().map(br -> br.reason() + " (seq " + br.seq() + ", id " + br.id() + ")").orElse(null));
        audit.put("chain", check);
        List<Map<String, Object>> entries = new ArrayList<>();
        for (AuditChain.Entry e : p.audit) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seq", e.seq());
            m.put("id", e.id());
            m.put("at", e.at().toString());
            m.put("actor", e.actor());
            m.put("action", e.action());
            m.put("subject", e.subject());
            m.put("detail", e.detail());
            m.put("prevHash", e.prevHash());
            m.put("hash", e.hash());
            entries.add(m);
        }
        audit.put("entries", entries);
        root.put("audit", audit);
        return root;
    }

    public void json(Period p, OutputStream out) {
        JSON.writeValue(out, json(p));
    }

    private Map<String, Object> build(Period p, History.Build b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", b.id());
        m.put("stack", b.stack());
        m.put("status", b.status());
        m.put("trigger", b.trigger());
        m.put("triggeredBy", b.triggeredBy());
        m.put("requestedAt", text(b.requestedAt()));
        m.put("startedAt", b.startedAt() == null ? null : b.startedAt().toString());
        m.put("finishedAt", b.finishedAt() == null ? null : b.finishedAt().toString());
        m.put("durationSeconds", b.startedAt() == null || b.finishedAt() == null ? null
                : Duration.between(b.startedAt(), b.finishedAt()).toMillis() / 1000.0);
        m.put("catalogRevision", b.catalogRevision());
        m.put("kilnVersion", b.kilnVersion());
        m.put("stackDigest", b.stackDigest());
        m.put("lockDigest", b.lockDigest());
        m.put("target", b.target());
        m.put("repository", b.repository());
        m.put("tag", b.tags() == null || b.tags().isEmpty() ? null : b.tags().get(0).asString());
        m.put("imageDigest", b.imageDigest());
        m.put("compressedBytes", b.compressedBytes());
        m.put("packageChanges", b.packageDiff() == null ? List.of() : b.packageDiff());
        m.put("previousBuildId", b.previousBuildId());
        m.put("approved", approved(b));
        boolean image = b.imageDigest() != null;
        m.put("signed", image && p.evidence(compliance.imageBuild(b)).signed());
        m.put("checklist", image ? p.checklist(b).summary() : null);
        m.put("failureReason", b.failureReason());
        return m;
    }

    private Map<String, Object> approvedImage(Period p, History.Build b) {
        Map<String, Object> m = new LinkedHashMap<>();
        EvidenceView.Status status = p.evidence(b.id());
        m.put("build", b.id());
        m.put("stack", b.stack());
        m.put("digest", b.imageDigest());
        m.put("tag", tag(b));
        m.put("reference", b.reference());
        m.put("approvedAt", b.finishedAt().toString());
        m.put("signed", status.signed());
        m.put("keyId", status.keyId());
        m.put("documents", status.documents().stream().map(d -> {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("kind", d.kind().id());
            doc.put("predicateType", d.predicateType());
            doc.put("sha256", d.sha256());
            doc.put("size", d.size());
            doc.put("attached", d.attached());
            doc.put("file", folder(b) + d.kind().id() + ".json");
            return doc;
        }).toList());
        m.put("bundles", compliance.evidence().bundles(b.id()).stream().map(x -> {
            Map<String, Object> bundle = new LinkedHashMap<>();
            bundle.put("name", x.name());
            bundle.put("predicateType", x.predicateType());
            bundle.put("digest", x.digest());
            bundle.put("file", folder(b) + "bundles/" + x.name() + ".sigstore.json");
            return bundle;
        }).toList());
        Checklist.Result checklist = p.checklist(b);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("summary", checklist.summary());
        c.put("items", checklist.items().stream().map(EvidenceExport::item).toList());
        m.put("checklist", c);
        return m;
    }

    static Map<String, Object> item(Checklist.Item i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id());
        m.put("title", i.title());
        m.put("status", i.status().id());
        m.put("evidence", i.evidence());
        m.put("recommendations", i.recommendations().stream().map(r -> Map.of("source", r.source(), "section", r.section())).toList());
        return m;
    }

    /** The builds that approved an image in the period, oldest first (the period's builds include every one that finished in it). */
    private List<History.Build> approvedImages(Period p) {
        return p.builds.stream().filter(b -> approved(b) && b.finishedAt() != null && !b.finishedAt().isBefore(p.since)
                && b.finishedAt().isBefore(p.until)).toList();
    }

    // ---- zip ----------------------------------------------------------------------------------

    /** The zip: the JSON and both CSVs, each approved image's documents and checklist, and SHA256SUMS. */
    public void zip(Period p, OutputStream out) throws IOException {
        Map<String, String> sums = new LinkedHashMap<>();
        ZipOutputStream zip = new ZipOutputStream(out, StandardCharsets.UTF_8);
        put(zip, sums, "README.txt", readme(p).getBytes(StandardCharsets.UTF_8));
        put(zip, sums, "export.json", JSON.writeValueAsBytes(json(p)));
        java.io.StringWriter builds = new java.io.StringWriter();
        buildsCsv(p, builds);
        put(zip, sums, "builds.csv", builds.toString().getBytes(StandardCharsets.UTF_8));
        java.io.StringWriter audit = new java.io.StringWriter();
        auditCsv(p, audit);
        put(zip, sums, "audit.csv", audit.toString().getBytes(StandardCharsets.UTF_8));
        for (History.Build b : approvedImages(p)) {
            for (EvidenceView.Listed d : p.evidence(b.id()).documents()) {
                byte[] json = compliance.evidence().document(b.id(), d.kind()).map(EvidenceView.Document::json)
                        .orElseThrow(() -> new IllegalStateException("build " + b.id() + ": " + d.kind().id() + " listed but not readable"));
                put(zip, sums, folder(b) + d.kind().id() + ".json", json);
            }
            for (EvidenceView.Bundle x : compliance.evidence().bundles(b.id())) {
                put(zip, sums, folder(b) + "bundles/" + x.name() + ".sigstore.json", x.bytes());
            }
            Checklist.Result checklist = p.checklist(b);
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("build", b.id());
            c.put("digest", b.imageDigest());
            c.put("summary", checklist.summary());
            c.put("items", checklist.items().stream().map(EvidenceExport::item).toList());
            put(zip, sums, folder(b) + "checklist.json", JSON.writeValueAsBytes(c));
        }
        String lines = sums.entrySet().stream().map(e -> e.getValue() + "  " + e.getKey() + "\n").collect(Collectors.joining());
        ZipEntry entry = new ZipEntry("SHA256SUMS");
        zip.putNextEntry(entry);
        zip.write(lines.getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
        zip.finish();
        out.flush();
    }

    /** Where an approved image's files go in the zip. */
    public static String folder(History.Build b) {
        return "images/" + b.stack() + "/build-" + b.id() + "-" + b.imageDigest().substring("sha256:".length(), "sha256:".length() + 12) + "/";
    }

    private static void put(ZipOutputStream zip, Map<String, String> sums, String name, byte[] bytes) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
        try {
            sums.put(name, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private String readme(Period p) {
        return "Kiln evidence export (" + FORMAT + ")\n"
                + "Period: " + p.since + " to " + p.until + " (until excluded), exported by " + p.by + " with Kiln " + kilnVersion + "\n\n"
                + "export.json   every build and audit entry of the period, and each approved image with its documents and checklist\n"
                + "builds.csv    every build requested, started or finished in the period, one per line\n"
                + "audit.csv     every audit entry written in the period, in chain order, with its hash links\n"
                + "images/STACK/build-ID-DIGEST/  each image approved in the period: its SBOMs (spdx.json, cyclonedx.json),\n"
                + "              SLSA provenance (provenance.json), rebuild record and compliance checklist (checklist.json);\n"
                + "              for a signed image its Sigstore bundles as attached (bundles/*.sigstore.json: the signature and\n"
                + "              each attestation, checked offline with the public key, e.g. cosign verify-blob-attestation)\n"
                + "SHA256SUMS    the SHA-256 of every file above ('sha256sum -c SHA256SUMS' checks them)\n";
    }

    // ---- values ---------------------------------------------------------------------------------

    private static boolean approved(History.Build b) {
        return "succeeded".equals(b.status());
    }

    private static String tag(History.Build b) {
        return b.tags() == null || b.tags().isEmpty() ? "" : b.tags().get(0).asString();
    }

    private static String duration(History.Build b) {
        return b.startedAt() == null || b.finishedAt() == null ? ""
                : String.format(java.util.Locale.ROOT, "%.3f", Duration.between(b.startedAt(), b.finishedAt()).toMillis() / 1000.0);
    }

    private static String changes(JsonNode diff) {
        if (diff == null || diff.isEmpty()) {
            return "";
        }
        List<String> out = new ArrayList<>();
        diff.forEach(c -> out.add(c.path("name").asString() + " " + c.path("from").asString("") + "->" + c.path("to").asString("")));
        return String.join("; ", out);
    }

    private static String failed(Checklist.Result r) {
        return r.items().stream().filter(i -> i.status() == Checklist.Status.FAIL).map(Checklist.Item::id).collect(Collectors.joining(" "));
    }

    private static String text(Object value) {
        return value == null ? "" : value.toString();
    }

    /** Writes bytes as UTF-8 text, for callers holding an OutputStream. */
    public static Writer writer(OutputStream out) {
        return new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8);
    }
}
