package dev.kiln.api;

import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.Stack;
import dev.kiln.compliance.BuildCompliance;
import dev.kiln.compliance.Checklist;
import dev.kiln.compliance.Comparison;
import dev.kiln.compliance.DigestStatus;
import dev.kiln.compliance.EvidenceView;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.RemediationTimes;
import dev.kiln.history.WebhookDeliveries;
import dev.kiln.publish.Digests;
import dev.kiln.publish.Target;
import dev.kiln.retire.Retirer;
import dev.kiln.security.UntrustedText;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.security.Principal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * What reviewers and pipelines ask across stacks: builds by time, stack, status and trigger; a build's
 * checklist, documents and remediation times; two builds compared; what became of a digest; the
 * approved image of a version line; pins; retirement on demand; remediation per stack; webhook
 * deliveries.
 */
@RestController
@RequestMapping("/api")
@Tag(name = "review", description = "Builds across stacks, checklists, digests, version lines, pins, remediation, webhooks")
class ReviewApi {

    static final Set<String> STATUSES = Set.of("queued", "running", "succeeded", "up-to-date", "failed", "quarantined", "cancelled");
    static final Set<String> TRIGGERS = Set.of("schedule", "manual", "api", "catalog-change", "recovery", "retry");
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+~]{0,63}");

    private final History history;
    private final BuildQueries queries;
    private final BuildRecords records;
    private final BuildCompliance compliance;
    private final DigestStatus digests;
    private final RemediationTimes remediation;
    private final WebhookDeliveries webhooks;
    private final Retirer retirer;
    private final CatalogCache catalogs;

    ReviewApi(History history, BuildQueries queries, BuildRecords records, BuildCompliance compliance, DigestStatus digests,
              RemediationTimes remediation, WebhookDeliveries webhooks, Retirer retirer, CatalogCache catalogs) {
        this.history = history;
        this.queries = queries;
        this.records = records;
        this.compliance = compliance;
        this.digests = digests;
        this.remediation = remediation;
        this.webhooks = webhooks;
        this.retirer = retirer;
        this.catalogs = catalogs;
    }

    @GetMapping("/builds")
    @Operation(summary = "Builds across stacks, newest first, filtered by request time, stack, status and trigger")
    @ApiResponse(responseCode = "200", description = "One page of builds")
    @ApiResponse(responseCode = "400", description = "`bad-parameter` (an unknown parameter, or a value that is not one the filter takes), "
            + "`bad-range`, `bad-page`; or a malformed request")
    History.Page<History.Build> builds(
            @Parameter(description = "requested at or after (ISO-8601 instant)") @RequestParam(required = false) Instant since,
            @Parameter(description = "requested before (ISO-8601 instant)") @RequestParam(required = false) Instant until,
            @Parameter(description = "stack name") @RequestParam(required = false) String stack,
            @Parameter(description = "queued, running, succeeded, up-to-date, failed, quarantined or cancelled") @RequestParam(required = false) String status,
            @Parameter(description = "schedule, manual, api, catalog-change, recovery or retry") @RequestParam(required = false) String trigger,
            @Parameter(description = "page number, from 0") @RequestParam(defaultValue = "0") int page,
            @Parameter(description = "builds per page, 1 to 200") @RequestParam(defaultValue = "50") int size) {
        if (since != null && until != null && !until.isAfter(since)) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-range", "until (" + until + ") must be after since (" + since + ")", List.of());
        }
        oneOf("stack", stack, null);
        oneOf("status", status, STATUSES);
        oneOf("trigger", trigger, TRIGGERS);
        page(page, size);
        return queries.search(new BuildQueries.Filter(since, until, stack, status, trigger), page, size);
    }

    @GetMapping("/builds/{id}/checklist")
    @Operation(summary = "A build's compliance checklist: each item measured in that build, its evidence and the recommendations it answers")
    @ApiResponse(responseCode = "200", description = "The checklist")
    @ApiResponse(responseCode = "404", description = "`no-such-build`")
    Map<String, Object> checklist(@PathVariable long id) {
        Checklist.Result result = compliance.checklist(id).orElseThrow(() -> noBuild(id));
        return Map.of("build", id, "summary", result.summary(), "items", result.items());
    }

    @GetMapping("/builds/{id}/documents")
    @Operation(summary = "A build's documents (SBOMs, provenance, rebuild record): kind, predicate type, SHA-256, attached or not; and its signature status")
    @ApiResponse(responseCode = "200", description = "The documents and the signature status")
    @ApiResponse(responseCode = "404", description = "`no-such-build`")
    EvidenceView.Status documents(@PathVariable long id) {
        History.Build build = history.build(id).orElseThrow(() -> noBuild(id));
        return compliance.evidence().status(compliance.imageBuild(build));
    }

    @GetMapping(value = "/builds/{id}/documents/{kind}", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "One document of a build, byte for byte as recorded: spdx, cyclonedx, provenance or rebuild-record")
    @ApiResponse(responseCode = "200", description = "The document")
    @ApiResponse(responseCode = "404", description = "`no-such-build`, `no-such-document`")
    ResponseEntity<byte[]> document(@PathVariable long id, @PathVariable String kind) {
        History.Build build = history.build(id).orElseThrow(() -> noBuild(id));
        EvidenceView.Kind k = EvidenceView.Kind.of(kind).orElseThrow(() -> ApiException.notFound("no-such-document",
                "no document kind " + UntrustedText.forLog(kind, 40) + " (kinds: spdx, cyclonedx, provenance, rebuild-record)"));
        EvidenceView.Document doc = compliance.evidence().document(compliance.imageBuild(build), k)
                .orElseThrow(() -> ApiException.notFound("no-such-document", "build " + id + " has no " + k.id() + " document"));
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).header("Kiln-Document-Digest", doc.listed().sha256())
                .body(doc.json());
    }

    @GetMapping("/builds/{id}/remediation")
    @Operation(summary = "For every package version the build changed: when Kiln first saw it in the archive and when it was approved")
    @ApiResponse(responseCode = "200", description = "The changes with their times")
    @ApiResponse(responseCode = "404", description = "`no-such-build`")
    List<RemediationTimes.Change> buildRemediation(@PathVariable long id) {
        history.build(id).orElseThrow(() -> noBuild(id));
        return remediation.of(id);
    }

    @GetMapping("/compare")
    @Operation(summary = "Two builds of a stack compared: packages, definition, layers, config, hardening report")
    @ApiResponse(responseCode = "200", description = "What changed from the older build to the newer")
    @ApiResponse(responseCode = "400", description = "`bad-parameter`: the builds are of different stacks; or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-build`")
    Comparison compare(@RequestParam long from, @RequestParam long to) {
        Comparison c = Comparison.of(history, records, from, to).orElseThrow(() -> noBuild(history.build(from).isEmpty() ? from : to));
        if (!c.from().stack().equals(c.to().stack())) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-parameter", "builds " + from + " and " + to + " are of different stacks ("
                    + c.from().stack() + ", " + c.to().stack() + ")", List.of());
        }
        return c;
    }

    @GetMapping("/digests/{digest}")
    @Operation(summary = "Is this image still current? current, superseded (by which digest, and what changed), retired, quarantined, or removed (its stack left the catalog)")
    @ApiResponse(responseCode = "200", description = "What became of the image")
    @ApiResponse(responseCode = "400", description = "`bad-parameter`: not sha256:<64 hex>")
    @ApiResponse(responseCode = "404", description = "`no-such-image`: Kiln never published it")
    DigestStatus.Report digest(@PathVariable String digest) {
        if (!Digests.valid(digest)) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-parameter", "the digest " + UntrustedText.forLog(digest, 80)
                    + " is not sha256:<64 lower-case hex digits>", List.of());
        }
        return digests.of(digest).orElseThrow(() -> ApiException.notFound("no-such-image", "Kiln never published " + digest));
    }

    /** The approved image of a version line. */
    record LineImage(String stack, String version, long build, String digest, String tag, String reference, String pull, Instant approvedAt,
                     boolean current) {
    }

    @GetMapping("/stacks/{name}/lines/{version}")
    @Operation(summary = "The approved image of a stack's version line (say java 21), without knowing build ids")
    @ApiResponse(responseCode = "200", description = "The newest approved, unretired image of that line")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`, or `no-approved-image` (the detail lists the lines that have one)")
    @ApiResponse(responseCode = "410", description = "`stack-removed`: the stack left the catalog; no line of it is approved any more")
    LineImage line(@PathVariable String name, @PathVariable String version) {
        History.Stack stack = history.stack(name).orElseThrow(() -> ApiException.noStack(name, catalogs.current()));
        if (!VERSION.matcher(version).matches()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-parameter", "the version " + UntrustedText.forLog(version, 80)
                    + " is not a version line", List.of());
        }
        if (stack.removedAt() != null) {
            // as /api/stacks/{name}/digest: no silent pulls of a line nobody rebuilds any more
            throw new ApiException(HttpStatus.GONE, "stack-removed", "stack '" + name + "' was removed from the catalog at "
                    + stack.removedAt() + " and gets no new builds", List.of()).with("removedAt", stack.removedAt().toString());
        }
        BuildQueries.Published p = queries.approvedOfLine(name, version).orElseThrow(() -> ApiException.notFound("no-approved-image",
                "stack '" + name + "' has no approved image of version line '" + version + "' (lines with one: "
                        + String.join(", ", queries.lines(name)) + ")"));
        return new LineImage(name, version, p.build(), p.digest(), p.tag(), p.reference(),
                Target.pullReference(p.target(), p.repository(), p.digest()).orElse(null), p.finishedAt(),
                p.digest().equals(stack.currentDigest()));
    }

    @GetMapping("/pins")
    @Operation(summary = "Every pin in force (of one stack with ?stack=): tag, digest, who pinned it, when and why")
    @ApiResponse(responseCode = "200", description = "The pins, oldest first")
    List<BuildQueries.Pin> pins(@RequestParam(required = false) String stack) {
        oneOf("stack", stack, null);
        return queries.pins(stack);
    }

    /** Retire now: one image by its digest or a tag, or (neither) whatever the policy retires, with a reason. */
    record RetireRequest(String digest, String tag, String reason) {
    }

    record Retired(String stack, List<String> retired, Map<String, String> failed, String reason) {
    }

    @PostMapping("/stacks/{name}/retirement")
    @Operation(summary = "Retire now (platform role): the image a digest or tag names, or with neither whatever the retention policy"
            + " retires (for a removed stack, by the policy it last had); a reason is required")
    @ApiResponse(responseCode = "200", description = "What was retired, and what failed with why")
    @ApiResponse(responseCode = "400", description = "`reason-required`, `bad-text`, `bad-tag`, `bad-digest`, `ambiguous-tag` (two live"
            + " images carry it: name the digest); or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`, `no-such-tag`")
    @ApiResponse(responseCode = "409", description = "`approved-image` or `pinned`: that image is never retired by hand")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`")
    Retired retire(@PathVariable String name, @RequestBody RetireRequest request, Principal principal) {
        String reason = RetirementApi.reason(request == null ? null : request.reason());
        Retirer.Subject stack = RetirementApi.subject(name, catalogs, history);
        String who = Actors.of(principal);
        Retirer.Result result;
        String image = request.digest() != null ? request.digest().strip() : request.tag();
        if (image == null) {
            history.audit(who, "retirement.requested", name, Map.of("reason", reason));
            result = retirer.retire(stack, who);
        } else {
            if (request.digest() != null) {
                if (request.tag() != null || !image.matches("sha256:[0-9a-f]{64}")) {
                    throw new ApiException(HttpStatus.BAD_REQUEST, "bad-digest", "name the image by 'digest' (sha256:<64 hex digits>) or by 'tag',"
                            + " not both", List.of());
                }
            } else {
                RetirementApi.tag(image);
            }
            try {
                result = retirer.retireNow(stack, image, who, reason).orElseThrow(() -> ApiException.notFound("no-such-tag",
                        "stack '" + name + "' has no live image '" + image + "'"));
            } catch (Retirer.Refused e) {
                throw new ApiException(e.kind().equals("ambiguous-tag") ? HttpStatus.BAD_REQUEST : HttpStatus.CONFLICT, e.kind(), e.getMessage(),
                        List.of());
            }
        }
        return new Retired(name, result.retired(), result.failed(), reason);
    }

    record Remediation(int days, List<RemediationTimes.Summary> stacks) {
    }

    @GetMapping("/remediation")
    @Operation(summary = "Remediation time per stack over the last 30 and 90 days: changed versions approved, median and worst seconds")
    @ApiResponse(responseCode = "200", description = "Both windows")
    List<Remediation> remediation(@RequestParam(required = false) String stack) {
        oneOf("stack", stack, null);
        return List.of(new Remediation(30, remediation.summary(stack, 30)), new Remediation(90, remediation.summary(stack, 90)));
    }

    @GetMapping("/webhooks/deliveries")
    @Operation(summary = "The newest webhook deliveries (of one build with ?build=) with every attempt: status, HTTP status, error, time")
    @ApiResponse(responseCode = "200", description = "The deliveries, newest first")
    List<WebhookDeliveries.Delivery> deliveries(@RequestParam(required = false) Long build,
                                                @RequestParam(defaultValue = "50") int size) {
        page(0, size);
        return webhooks.deliveries(build, size);
    }

    private static void oneOf(String parameter, String value, Set<String> allowed) {
        if (value == null) {
            return;
        }
        boolean ok = allowed == null ? NAME.matcher(value).matches() : allowed.contains(value);
        if (!ok) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-parameter", "parameter '" + parameter + "': "
                    + UntrustedText.forLog(value, 80) + (allowed == null ? " is not a stack name"
                    : " is not one of " + String.join(", ", new java.util.TreeSet<>(allowed))), List.of());
        }
    }

    private static void page(int page, int size) {
        if (page < 0 || size < 1 || size > 200) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-page", "page must be >= 0 and size between 1 and 200 (got page=" + page
                    + ", size=" + size + ")", List.of());
        }
    }

    private static ApiException noBuild(long id) {
        return ApiException.notFound("no-such-build", "no build " + id);
    }
}
