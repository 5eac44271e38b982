package dev.kiln.console;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.Stack;
import dev.kiln.compliance.BuildCompliance;
import dev.kiln.compliance.Checklist;
import dev.kiln.compliance.Comparison;
import dev.kiln.compliance.DigestStatus;
import dev.kiln.compliance.EvidenceView;
import dev.kiln.compliance.JsonDiff;
import dev.kiln.history.AuditChain;
import dev.kiln.history.AuditSearch;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.RemediationTimes;
import dev.kiln.history.WebhookDeliveries;
import dev.kiln.publish.Digests;
import dev.kiln.publish.Target;
import dev.kiln.retire.Retirer;
import dev.kiln.schedule.Schedules;
import dev.kiln.security.UntrustedText;
import jakarta.servlet.http.HttpServletResponse;
import java.security.Principal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.server.ResponseStatusException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The console's pages: stacks (home), a stack, a build, two builds compared, a digest, the audit trail.
 * Everything is read from the history as recorded; nothing is computed in the browser.
 */
@Controller
class ConsolePages {

    private static final JsonMapper PRETTY = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    private final History history;
    private final BuildQueries queries;
    private final BuildRecords records;
    private final BuildCompliance compliance;
    private final DigestStatus digests;
    private final RemediationTimes remediation;
    private final WebhookDeliveries webhooks;
    private final AuditSearch audit;
    private final AuditChain chain;
    private final Retirer retirer;
    private final Schedules schedules;
    private final CatalogCache catalogs;
    private final Views views = new Views();

    ConsolePages(History history, BuildQueries queries, BuildRecords records, BuildCompliance compliance, DigestStatus digests,
                 RemediationTimes remediation, WebhookDeliveries webhooks, AuditSearch audit, AuditChain chain, Retirer retirer,
                 Schedules schedules, CatalogCache catalogs) {
        this.history = history;
        this.queries = queries;
        this.records = records;
        this.compliance = compliance;
        this.digests = digests;
        this.remediation = remediation;
        this.webhooks = webhooks;
        this.audit = audit;
        this.chain = chain;
        this.retirer = retirer;
        this.schedules = schedules;
        this.catalogs = catalogs;
    }

    private void common(Model model, Authentication user, String page) {
        model.addAttribute("views", views);
        model.addAttribute("page", page);
        model.addAttribute("user", user.getName());
        model.addAttribute("platform", has(user, "ROLE_PLATFORM"));
        model.addAttribute("compliance", has(user, "ROLE_COMPLIANCE"));
    }

    static boolean has(Authentication user, String authority) {
        return user.getAuthorities().stream().anyMatch(a -> a.getAuthority().equals(authority));
    }

    @GetMapping({"/", "/console"})
    String root() {
        return "redirect:/console/";
    }

    @GetMapping("/console/login")
    String login(@RequestParam(required = false) String error, @RequestParam(required = false) Long throttled,
                 @RequestParam(required = false) String signedOut, Model model) {
        model.addAttribute("error", error != null);
        model.addAttribute("throttled", throttled);
        model.addAttribute("signedOut", signedOut != null);
        return "console/login";
    }

    /** Where Spring Security forwards a refused request, with its method (a refused POST arrives as a POST). */
    @org.springframework.web.bind.annotation.RequestMapping("/console/denied")
    String denied(Authentication user, Model model, HttpServletResponse response) {
        common(model, user, "denied");
        response.setStatus(HttpStatus.FORBIDDEN.value());
        return "console/denied";
    }

    // ---- stacks -------------------------------------------------------------------------------

    /** A row of the home page. */
    record StackRow(String name, String description, String owner, String version, String state, String digest, String pull,
                    String tag, Long build, Instant approvedAt, String cron, String timeZone, Instant nextRun, List<String> problems) {
    }

    @GetMapping("/console/")
    String stacks(Authentication user, Model model) {
        common(model, user, "stacks");
        Catalog catalog = catalogs.current();
        Map<String, History.Stack> recorded = new TreeMap<>();
        history.stacks().forEach(s -> recorded.put(s.name(), s));
        List<String> names = new ArrayList<>(catalog.names());
        recorded.keySet().stream().filter(n -> !names.contains(n)).forEach(names::add);
        List<StackRow> rows = names.stream().sorted().map(n -> row(catalog, n, Optional.ofNullable(recorded.get(n)))).toList();
        model.addAttribute("stacks", rows);
        return "console/stacks";
    }

    private StackRow row(Catalog catalog, String name, Optional<History.Stack> recorded) {
        Optional<Stack> stack = catalog.stack(name);
        History.Stack r = recorded.orElse(null);
        Instant approvedAt = r == null || r.currentBuildId() == null ? null
                : history.build(r.currentBuildId()).map(History.Build::finishedAt).orElse(null);
        return new StackRow(name, stack.map(Stack::description).orElse(null),
                stack.map(Stack::owner).orElse(r == null ? null : r.owner()), stack.map(Stack::version).orElse(null),
                state(catalog, name, r), r == null ? null : r.currentDigest(),
                r == null ? null : Target.pullReference(r.currentTarget(), r.currentRepository(), r.currentDigest()).orElse(null),
                r == null ? null : r.currentTag(), r == null ? null : r.currentBuildId(), approvedAt,
                stack.map(s -> s.schedule().cron()).orElse(null), stack.map(s -> s.schedule().timeZone()).orElse(null),
                stack.isPresent() ? schedules.nextFire(name).orElse(null) : null,
                catalog.problems(name).stream().map(Object::toString).toList());
    }

    /** current, building, failing, quarantined, removed, invalid or never built. */
    static String state(Catalog catalog, String name, History.Stack r) {
        if (!catalog.names().contains(name) || r != null && r.removedAt() != null) {
            return "removed";
        }
        if (catalog.stack(name).isEmpty()) {
            return "invalid";
        }
        if (r == null || r.lastStatus() == null) {
            return "never built";
        }
        return switch (r.lastStatus()) {
            case "queued", "running" -> "building";
            case "failed" -> "failing";
            case "quarantined" -> "quarantined";
            default -> r.currentBuildId() == null ? "never built" : "current";
        };
    }

    // ---- a stack ------------------------------------------------------------------------------

    /** A build on the stack's timeline of package changes. */
    record Changes(long build, Instant at, String status, String tag, List<Map<String, String>> changes) {
    }

    @GetMapping("/console/stacks/{name}")
    String stack(@PathVariable String name, @RequestParam(defaultValue = "0") int page, Authentication user, Model model) {
        common(model, user, "stacks");
        History.Stack recorded = history.stack(checkName(name)).orElse(null);
        Catalog catalog = catalogs.current();
        if (recorded == null && !catalog.names().contains(name)) {
            throw new ResponseStatusException(HttpStatus.NOT_FOUND, "no stack '" + name + "'");
        }
        model.addAttribute("stack", row(catalog, name, Optional.ofNullable(recorded)));
        model.addAttribute("definition", catalog.stack(name).map(s -> PRETTY.writeValueAsString(PRETTY.readTree(Catalog.canonical(s))))
                .orElse(null));
        List<BuildQueries.Point> points = queries.points(name, 60);
        model.addAttribute("chart", SvgChart.of(points));
        List<Changes> timeline = new ArrayList<>();
        for (int i = points.size() - 1; i >= 0; i--) {
            BuildQueries.Point p = points.get(i);
            if (p.packageDiff() != null && !p.packageDiff().isEmpty()) {
                timeline.add(new Changes(p.id(), p.finishedAt(), p.status(), p.tag(), changes(p.packageDiff())));
            }
        }
        model.addAttribute("timeline", timeline);
        int size = 25;
        History.Page<History.Build> builds = history.builds(name, Math.max(0, page), size);
        model.addAttribute("builds", builds);
        model.addAttribute("pages", (builds.total() + size - 1) / size);
        model.addAttribute("pins", queries.pins(name));
        Optional<Stack> stack = catalog.stack(name);
        // a removed stack is still retired, by the policy it last had
        model.addAttribute("plan", stack.map(Retirer.Subject::of).or(() -> history.stack(name).flatMap(Retirer.Subject::recorded))
                .map(retirer::plan).orElse(null));
        model.addAttribute("retirements", history.retirements(name));
        model.addAttribute("lines", queries.lines(name));
        model.addAttribute("remediation30", remediation.summary(name, 30).stream().findFirst().orElse(null));
        model.addAttribute("remediation90", remediation.summary(name, 90).stream().findFirst().orElse(null));
        return "console/stack";
    }

    // ---- a build ------------------------------------------------------------------------------

    record LockPackage(String name, String version, String architecture, String suite, String sha256, long size, String wantedBy) {
    }

    record Layer(String name, String digest, long size, String packages) {
    }

    record ItemView(Checklist.Item item, String css) {
    }

    /** One platform image of an image index: its platform ("linux/arm64"), digest and pull reference. */
    record PlatformRow(String platform, String digest, String pull) {
    }

    /** The platform images of an index build, in the index's order; empty for a single image. */
    private static List<PlatformRow> platforms(History.Build image) {
        List<PlatformRow> rows = new java.util.ArrayList<>();
        if (image.platforms() != null && image.platforms().isArray()) {
            for (tools.jackson.databind.JsonNode p : image.platforms()) {
                String digest = p.path("digest").asString();
                rows.add(new PlatformRow(p.path("platform").asString(), digest,
                        Target.pullReference(image.target(), image.repository(), digest).orElse(null)));
            }
        }
        return rows;
    }

    @GetMapping("/console/builds/{id}")
    String build(@PathVariable long id, Authentication user, Model model) {
        common(model, user, "stacks");
        History.Build build = history.build(id).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no build " + id));
        long imageBuild = compliance.imageBuild(build);
        History.Build image = imageBuild == id ? build : history.build(imageBuild).orElse(build);
        model.addAttribute("build", build);
        model.addAttribute("image", image);
        model.addAttribute("tag", tag(image));
        model.addAttribute("pull", Target.pullReference(image.target(), image.repository(), image.imageDigest()).orElse(null));
        model.addAttribute("platforms", platforms(image));
        BuildRecords.Measured measured = records.measured(image.id());
        model.addAttribute("definition", pretty(measured.stackDefinition()));
        model.addAttribute("config", measured.imageConfig() == null ? null : PRETTY.writeValueAsString(measured.imageConfig()));
        model.addAttribute("packages", lockPackages(build.lock() != null ? build.lock() : image.lock()));
        model.addAttribute("packageDiff", changes(build.packageDiff()));
        Optional<Long> previous = queries.previous(id);
        model.addAttribute("previous", previous.orElse(null));
        String previousDefinition = previous.map(p -> records.measured(p).stackDefinition()).orElse(null);
        model.addAttribute("definitionDiff", measured.stackDefinition() == null || previousDefinition == null ? null
                : JsonDiff.of(PRETTY.readTree(previousDefinition), PRETTY.readTree(measured.stackDefinition())));
        model.addAttribute("layers", layers(image.layers()));
        model.addAttribute("report", image.report() == null ? null : new Report(image.report()));
        model.addAttribute("scan", measured.scan() == null ? null : measured.scan().toString());
        EvidenceView.Status evidence = compliance.evidence().status(image.id());
        model.addAttribute("evidence", evidence);
        Checklist.Result checklist = compliance.checklist(build);
        model.addAttribute("checklist", checklist.items().stream().map(i -> new ItemView(i, i.status().id())).toList());
        model.addAttribute("checklistSummary", checklist.summary());
        model.addAttribute("remediation", remediation.of(id));
        model.addAttribute("deliveries", webhooks.deliveries(id, 20));
        return "console/build";
    }

    /** The hardening and verification report, as lists a page can show. */
    record Report(List<String> checks, List<String> setuidStripped, List<String> removed, List<String> tightened, List<String> trimmed,
                  List<String> generated, long droppedFiles, long droppedBytes, int elfFiles, int librariesResolved, String lock) {
        Report(JsonNode r) {
            this(texts(r.path("checks")), texts(r.path("setuidStripped")), texts(r.path("removed")), texts(r.path("tightened")),
                    texts(r.path("trimmed")), texts(r.path("generated")), r.path("droppedFiles").asLong(), r.path("droppedBytes").asLong(),
                    r.path("elfFiles").asInt(), r.path("librariesResolved").asInt(), r.has("lock") ? r.path("lock").toString() : null);
        }
    }

    @GetMapping("/console/builds/{id}/documents/{kind}")
    ResponseEntity<byte[]> document(@PathVariable long id, @PathVariable String kind) {
        History.Build build = history.build(id).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no build " + id));
        EvidenceView.Kind k = EvidenceView.Kind.of(kind).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no such document"));
        EvidenceView.Document doc = compliance.evidence().document(compliance.imageBuild(build), k)
                .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "build " + id + " has no " + k.id() + " document"));
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON)
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"" + build.stack() + "-build-" + id + "-" + k.id() + ".json\"")
                .header("Kiln-Document-Digest", doc.listed().sha256()).body(doc.json());
    }

    // ---- compare ------------------------------------------------------------------------------

    @GetMapping("/console/compare")
    String compare(@RequestParam(required = false) String stack, @RequestParam(required = false) Long from,
                   @RequestParam(required = false) Long to, Authentication user, Model model) {
        common(model, user, "compare");
        List<String> stacks = history.stacks().stream().map(History.Stack::name).toList();
        model.addAttribute("stacks", stacks);
        String chosen = stack != null ? checkName(stack) : from != null ? history.build(from).map(History.Build::stack).orElse(null) : null;
        model.addAttribute("chosen", chosen);
        model.addAttribute("from", from);
        model.addAttribute("to", to);
        if (chosen != null) {
            model.addAttribute("choices", queries.search(new BuildQueries.Filter(null, null, chosen, null, null), 0, 200).items().stream()
                    .filter(b -> b.imageDigest() != null).toList());
        }
        if (from != null && to != null) {
            Comparison c = Comparison.of(history, records, from, to)
                    .orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no such build"));
            if (!c.from().stack().equals(c.to().stack())) {
                throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "builds " + from + " and " + to + " are of different stacks");
            }
            model.addAttribute("comparison", c);
        }
        return "console/compare";
    }

    // ---- digests ------------------------------------------------------------------------------

    @GetMapping("/console/digests")
    String digest(@RequestParam(required = false) String digest, Authentication user, Model model) {
        common(model, user, "digests");
        String d = digest == null ? null : digest.strip();
        model.addAttribute("digest", d);
        if (d != null && !d.isEmpty()) {
            if (!Digests.valid(d)) {
                model.addAttribute("problem", "that is not an image digest (sha256: and 64 lower-case hex digits)");
            } else {
                Optional<DigestStatus.Report> report = digests.of(d);
                model.addAttribute("report", report.orElse(null));
                if (report.isEmpty()) {
                    model.addAttribute("problem", "Kiln never published " + d);
                }
            }
        }
        return "console/digest";
    }

    // ---- audit --------------------------------------------------------------------------------

    /** Builds across stacks, newest first, filtered as the API's list is (request time, stack, status, trigger). */
    @GetMapping("/console/builds")
    String builds(@RequestParam(required = false) String since, @RequestParam(required = false) String until,
                  @RequestParam(required = false) String stack, @RequestParam(required = false) String status,
                  @RequestParam(required = false) String trigger, @RequestParam(defaultValue = "0") int page, Authentication user, Model model) {
        common(model, user, "builds");
        List<String> problems = new ArrayList<>();
        Instant from = instant("since", since, problems);
        Instant to = instant("until", until, problems);
        if (from != null && to != null && !to.isAfter(from)) {
            problems.add("until must be after since");
        }
        String s = known("status", blank(status), STATUSES, problems);
        String t = known("trigger", blank(trigger), TRIGGERS, problems);
        model.addAttribute("filter", Map.of("since", since == null ? "" : since, "until", until == null ? "" : until,
                "stack", stack == null ? "" : stack, "status", status == null ? "" : status, "trigger", trigger == null ? "" : trigger));
        model.addAttribute("problems", problems);
        model.addAttribute("stacks", history.stacks().stream().map(History.Stack::name).toList());
        model.addAttribute("statuses", STATUSES);
        model.addAttribute("triggers", TRIGGERS);
        int size = 50;
        History.Page<History.Build> builds = problems.isEmpty()
                ? queries.search(new BuildQueries.Filter(from, to, blank(stack), s, t), Math.max(page, 0), size)
                : new History.Page<>(List.of(), 0, size, 0);
        model.addAttribute("builds", builds);
        model.addAttribute("pages", (builds.total() + size - 1) / size);
        return "console/builds";
    }

    static final List<String> STATUSES = List.of("queued", "running", "succeeded", "up-to-date", "failed", "quarantined", "cancelled");
    static final List<String> TRIGGERS = List.of("schedule", "manual", "api", "catalog-change", "recovery", "retry");

    private static String known(String name, String value, List<String> allowed, List<String> problems) {
        if (value != null && !allowed.contains(value)) {
            problems.add(name + ": " + UntrustedText.forLog(value, 40) + " is not one of " + String.join(", ", allowed));
            return null;
        }
        return value;
    }

    @GetMapping("/console/audit")
    String audit(@RequestParam(required = false) String since, @RequestParam(required = false) String until,
                 @RequestParam(required = false) String actor, @RequestParam(required = false) String stack,
                 @RequestParam(required = false) String action, @RequestParam(defaultValue = "0") int page, Authentication user, Model model) {
        common(model, user, "audit");
        List<String> problems = new ArrayList<>();
        AuditSearch.Filter filter = new AuditSearch.Filter(instant("since", since, problems), instant("until", until, problems),
                blank(actor), blank(stack), blank(action));
        model.addAttribute("filter", Map.of("since", since == null ? "" : since, "until", until == null ? "" : until,
                "actor", actor == null ? "" : actor, "stack", stack == null ? "" : stack, "action", action == null ? "" : action));
        model.addAttribute("problems", problems);
        model.addAttribute("actions", audit.actions());
        model.addAttribute("stacks", history.stacks().stream().map(History.Stack::name).toList());
        History.Page<History.AuditEntry> entries = audit.search(filter, Math.max(page, 0), 100);
        model.addAttribute("entries", entries);
        model.addAttribute("pages", (entries.total() + 99) / 100);
        AuditChain.Verification v = chain.verify();
        model.addAttribute("chain", v);
        model.addAttribute("broken", v.broken().orElse(null));
        return "console/audit";
    }

    // ---- helpers ------------------------------------------------------------------------------

    static Instant instant(String name, String value, List<String> problems) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String v = value.strip();
        try {
            return v.length() == 10 ? java.time.LocalDate.parse(v).atStartOfDay(java.time.ZoneOffset.UTC).toInstant()
                    : v.length() == 16 ? java.time.LocalDateTime.parse(v).toInstant(java.time.ZoneOffset.UTC) : Instant.parse(v);
        } catch (DateTimeParseException e) {
            problems.add(name + ": '" + v + "' is not a date (2026-01-31), a time (2026-01-31T08:00) or an instant (2026-01-31T08:00:00Z)");
            return null;
        }
    }

    private static String blank(String value) {
        return value == null || value.isBlank() ? null : value.strip();
    }

    private static String checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new ResponseStatusException(HttpStatus.NOT_FOUND, "no such stack");
        }
        return name;
    }

    static String tag(History.Build b) {
        return b.tags() == null || b.tags().isEmpty() ? null : b.tags().get(0).asString();
    }

    private static String pretty(String json) {
        return json == null ? null : PRETTY.writeValueAsString(PRETTY.readTree(json));
    }

    static List<Map<String, String>> changes(JsonNode diff) {
        List<Map<String, String>> out = new ArrayList<>();
        if (diff != null) {
            diff.forEach(c -> {
                Map<String, String> m = new TreeMap<>();
                m.put("name", c.path("name").asString());
                m.put("from", c.path("from").asString(""));
                m.put("to", c.path("to").asString(""));
                out.add(m);
            });
        }
        return out;
    }

    private static List<LockPackage> lockPackages(JsonNode lock) {
        List<LockPackage> out = new ArrayList<>();
        if (lock != null) {
            lock.path("packages").forEach(p -> out.add(new LockPackage(p.path("name").asString(), p.path("version").asString(),
                    p.path("architecture").asString(), p.path("suite").asString(), p.path("sha256").asString(), p.path("size").asLong(),
                    p.path("wantedBy").asString(""))));
        }
        return out;
    }

    private static List<Layer> layers(JsonNode layers) {
        List<Layer> out = new ArrayList<>();
        if (layers != null) {
            layers.forEach(l -> out.add(new Layer(l.path("name").asString(), l.path("digest").asString(), l.path("size").asLong(),
                    String.join(", ", texts(l.path("packages"))))));
        }
        return out;
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null && array.isArray()) {
            array.forEach(n -> out.add(n.asString()));
        }
        return out;
    }

    static String actor(Principal principal) {
        return "console:" + principal.getName();
    }
}
