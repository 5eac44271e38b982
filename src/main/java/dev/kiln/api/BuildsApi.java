package dev.kiln.api;

import dev.kiln.history.History;
import dev.kiln.rebuild.Rebuilds;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.net.URI;
import java.security.Principal;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** Stopping a build: a cancel is asked for here and recorded; the instance running the build stops it. */
@RestController
@RequestMapping("/api/builds/{id}")
@Tag(name = "stacks")
class BuildsApi {

    private final History history;
    private final Rebuilds rebuilds;

    BuildsApi(History history, Rebuilds rebuilds) {
        this.history = history;
        this.rebuilds = rebuilds;
    }

    record CancelRequest(String reason) {
    }

    record Cancelling(long build, String status, String requestedBy, String reason, URI location) {
    }

    @PostMapping("/cancel")
    @Operation(summary = "Cancel a build (platform role; a reason is required). 200 when a queued build is cancelled at once; 202 while"
            + " the instance running it stops it (within a heartbeat; once publishing has begun it finishes and records what it"
            + " pushed); 409 when the build has already ended")
    ResponseEntity<Cancelling> cancel(@PathVariable long id, @RequestBody(required = false) CancelRequest request, Principal principal) {
        String reason = request == null || request.reason() == null || request.reason().isBlank() ? null : request.reason().strip();
        if (reason == null) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "reason-required", "a cancel needs a reason (who asked, why)", List.of());
        }
        String by = "api:" + principal.getName();
        History.Cancel cancel = history.requestCancel(id, by, reason)
                .orElseThrow(() -> ApiException.notFound("no-such-build", "no build " + id));
        URI location = URI.create("/api/builds/" + id);
        return switch (cancel.changed() || cancel.status().equals("running") ? cancel.status() : "ended") {
            case "cancelled" -> ResponseEntity.ok(new Cancelling(id, "cancelled", by, reason, location));
            case "running" -> {
                rebuilds.cancel(id); // at once when it runs on this instance; elsewhere its heartbeat brings the request
                yield ResponseEntity.accepted().location(location).body(new Cancelling(id, "cancelling", by, reason, location));
            }
            default -> throw new ApiException(HttpStatus.CONFLICT, "build-finished",
                    "build " + id + " has already ended (" + cancel.status() + "); there is nothing to cancel", List.of())
                    .with("status", cancel.status());
        };
    }
}
