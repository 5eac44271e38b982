package dev.kiln.api;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
import dev.kiln.history.History;
import dev.kiln.schedule.Schedules;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.net.URI;
import java.security.Principal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** Stacks, their builds and their approved images. */
@RestController
@RequestMapping("/api")
@Tag(name = "stacks", description = "The catalog's stacks, their build history and their approved images")
class StacksApi {

    private static final int MAX_PAGE_SIZE = 200;

    private final History history;
    private final Schedules schedules;
    private final CatalogCache catalogs;

    StacksApi(History history, Schedules schedules, CatalogCache catalogs) {
        this.history = history;
        this.schedules = schedules;
        this.catalogs = catalogs;
    }

    /**
     * The image a stack's newest good build published: what developers pin. For a stack of several
     * architectures {@code digest} is the image index's (docker pulls the platform it runs on) and
     * {@code platforms} lists each platform image under it; null for a single image.
     */
    record Image(long build, String tag, String digest, String reference, String pull, List<PlatformImage> platforms) {
    }

    /** One platform image of an index: Debian architecture, OCI platform ({@code linux/arm64}), digest and pull reference. */
    record PlatformImage(String architecture, String platform, String digest, String pull) {
    }

    record LastBuild(long id, String status, Instant finishedAt) {
    }

    record Schedule(String cron, String timeZone, Instant nextFireTime) {
    }

    record StackView(String name, String description, String owner, String repository, boolean valid, List<String> problems,
                     boolean removed, Schedule schedule, Image current, LastBuild lastBuild) {
    }

    record Triggered(long build, boolean joined, String status, URI location) {
    }

    @GetMapping("/stacks")
    @Operation(summary = "Every stack: catalog state, current approved image, last build, next fire time")
    @ApiResponse(responseCode = "200", description = "Every stack, by name")
    List<StackView> stacks() {
        Catalog catalog = catalogs.current();
        Map<String, History.Stack> recorded = new TreeMap<>();
        history.stacks().forEach(s -> recorded.put(s.name(), s));
        List<String> names = new ArrayList<>(catalog.names());
        recorded.keySet().stream().filter(n -> !names.contains(n)).forEach(names::add);
        return names.stream().sorted().map(n -> view(catalog, n, Optional.ofNullable(recorded.get(n)))).toList();
    }

    @GetMapping("/stacks/{name}")
    @Operation(summary = "One stack")
    @ApiResponse(responseCode = "200", description = "The stack")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`: neither in the catalog nor recorded (the detail lists the stacks)")
    StackView stack(@PathVariable String name) {
        Catalog catalog = catalogs.current();
        Optional<History.Stack> recorded = history.stack(name);
        if (!catalog.names().contains(name) && recorded.isEmpty()) {
            throw ApiException.noStack(name, catalog);
        }
        return view(catalog, name, recorded);
    }

    @GetMapping("/stacks/{name}/builds")
    @Operation(summary = "A stack's build history, newest first")
    @ApiResponse(responseCode = "200", description = "One page of builds")
    @ApiResponse(responseCode = "400", description = "`bad-page`: page below 0 or size outside 1 to 200; or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`: never recorded")
    History.Page<History.Build> builds(@PathVariable String name,
                                       @Parameter(description = "page number, from 0") @RequestParam(defaultValue = "0") int page,
                                       @Parameter(description = "builds per page, at most 200") @RequestParam(defaultValue = "20") int size) {
        if (page < 0 || size < 1 || size > MAX_PAGE_SIZE) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-page", "page must be >= 0 and size between 1 and " + MAX_PAGE_SIZE
                    + " (got page=" + page + ", size=" + size + ")", List.of());
        }
        if (history.stack(name).isEmpty()) {
            throw ApiException.noStack(name, catalogs.current());
        }
        return history.builds(name, page, size);
    }

    @PostMapping("/stacks/{name}/builds")
    @Operation(summary = "Trigger a build (platform role). 202 with the build's location; joins a build already under way")
    @ApiResponse(responseCode = "202", description = "Queued, or joined the build already queued or running (`joined`); `Location` is the build")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`: no such stack file in the catalog")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`: the stack file is invalid and never built; `problems` lists why")
    ResponseEntity<Triggered> trigger(@PathVariable String name, Principal principal) {
        ApiException.validStack(catalogs.current(), name);
        // the database first: when it is down the answer is a quick 503, not a scheduler error
        history.active(name);
        if (!schedules.scheduled(name)) {
            schedules.sync(Actors.of(principal));
        }
        History.Ticket ticket = schedules.trigger(name, "api", Actors.of(principal));
        URI location = URI.create("/api/builds/" + ticket.id());
        String status = history.build(ticket.id()).map(History.Build::status).orElse("queued");
        return ResponseEntity.accepted().location(location).body(new Triggered(ticket.id(), ticket.joined(), status, location));
    }

    @GetMapping("/stacks/{name}/digest")
    @Operation(summary = "The stack's current approved image, for docker pull repo@digest; 410 once the stack left the catalog")
    @ApiResponse(responseCode = "200", description = "The approved image")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`, or `no-approved-image`: no build of it has been approved yet")
    @ApiResponse(responseCode = "410", description = "`stack-removed`: the stack left the catalog; its last approved image is named")
    Image digest(@PathVariable String name) {
        History.Stack recorded = history.stack(name).orElseThrow(() -> ApiException.noStack(name, catalogs.current()));
        if (recorded.removedAt() != null) {
            // no silent pulls of an image nobody rebuilds any more: the last one is named, not served as approved
            Optional<Image> last = image(recorded);
            throw new ApiException(HttpStatus.GONE, "stack-removed", "stack '" + name + "' was removed from the catalog at "
                    + recorded.removedAt() + " and gets no new builds" + last.map(i -> "; its last approved image was "
                    + (i.pull() != null ? i.pull() : i.reference() + " (" + i.digest() + ")")).orElse(""), List.of())
                    .with("removedAt", recorded.removedAt().toString()).with("lastApproved", last.orElse(null));
        }
        return image(recorded).orElseThrow(() -> ApiException.notFound("no-approved-image",
                "stack '" + name + "' has no approved image yet (see /api/stacks/" + name + "/builds)"));
    }

    @GetMapping("/builds/{id}")
    @Operation(summary = "One build's full provenance: inputs, lock, image, layers, hardening report, package diff")
    @ApiResponse(responseCode = "200", description = "The build")
    @ApiResponse(responseCode = "404", description = "`no-such-build`")
    History.Build build(@PathVariable long id) {
        return history.build(id).orElseThrow(() -> ApiException.notFound("no-such-build", "no build " + id));
    }

    @GetMapping("/audit")
    @Operation(summary = "The audit trail: every change anyone made, newest first")
    @ApiResponse(responseCode = "200", description = "One page of audit entries")
    @ApiResponse(responseCode = "400", description = "`bad-page`: page below 0 or size outside 1 to 200; or a malformed request")
    History.Page<History.AuditEntry> audit(@RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "50") int size) {
        if (page < 0 || size < 1 || size > MAX_PAGE_SIZE) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-page", "page must be >= 0 and size between 1 and " + MAX_PAGE_SIZE,
                    List.of());
        }
        return history.audit(page, size);
    }

    private StackView view(Catalog catalog, String name, Optional<History.Stack> recorded) {
        Optional<Stack> stack = catalog.stack(name);
        List<String> problems = catalog.problems(name).stream().map(Problem::toString).toList();
        Schedule schedule = stack.map(s -> new Schedule(s.schedule().cron(), s.schedule().timeZone(), schedules.nextFire(name).orElse(null)))
                .orElse(null);
        return new StackView(name, stack.map(Stack::description).orElse(null),
                stack.map(Stack::owner).orElse(recorded.map(History.Stack::owner).orElse(null)),
                stack.map(s -> s.target().repository()).orElse(recorded.map(History.Stack::repository).orElse(null)),
                stack.isPresent(), problems, !catalog.names().contains(name), schedule,
                recorded.flatMap(StacksApi::image).orElse(null),
                recorded.filter(r -> r.lastBuildId() != null)
                        .map(r -> new LastBuild(r.lastBuildId(), r.lastStatus(), r.lastFinishedAt())).orElse(null));
    }

    static Optional<Image> image(History.Stack s) {
        if (s.currentBuildId() == null) {
            return Optional.empty();
        }
        String pull = dev.kiln.publish.Target.pullReference(s.currentTarget(), s.currentRepository(), s.currentDigest()).orElse(null);
        List<PlatformImage> platforms = null;
        if (s.currentPlatforms() != null && s.currentPlatforms().isArray()) {
            platforms = new ArrayList<>();
            for (tools.jackson.databind.JsonNode p : s.currentPlatforms()) {
                String digest = p.path("digest").asString();
                platforms.add(new PlatformImage(p.path("architecture").asString(), p.path("platform").asString(), digest,
                        dev.kiln.publish.Target.pullReference(s.currentTarget(), s.currentRepository(), digest).orElse(null)));
            }
        }
        return Optional.of(new Image(s.currentBuildId(), s.currentTag(), s.currentDigest(), s.currentReference(), pull, platforms));
    }
}
