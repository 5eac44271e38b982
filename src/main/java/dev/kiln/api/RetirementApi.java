package dev.kiln.api;

import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.history.History;
import dev.kiln.retire.RetentionPlanner;
import dev.kiln.retire.Retirer;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.security.Principal;
import java.time.Instant;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** The retirement plan of a stack, what was retired, and pins. */
@RestController
@RequestMapping("/api/stacks/{name}")
@Tag(name = "retirement", description = "Retention plans, retirements and pins")
class RetirementApi {

    private final Retirer retirer;
    private final History history;
    private final KilnProperties properties;

    RetirementApi(Retirer retirer, History history, KilnProperties properties) {
        this.retirer = retirer;
        this.history = history;
        this.properties = properties;
    }

    record ImageDecision(List<String> tags, String digest, long build, Instant pushedAt, Instant lastPulled, String pin,
                         String decision, String reason) {
    }

    record PlanView(String stack, String target, String repository, RetentionPlanner.Policy policy, boolean pullTimesKnown,
                    List<ImageDecision> images, List<History.Retirement> retirements) {
    }

    record PinRequest(String tag, String reason) {
    }

    @GetMapping("/retirement")
    @Operation(summary = "The retention plan now (a dry run: keep or retire, with the reason, per image) and the retirements recorded")
    PlanView plan(@PathVariable String name) {
        Retirer.Plan plan = retirer.plan(stack(name));
        return new PlanView(plan.stack(), plan.target(), plan.repository(), plan.policy(), plan.pullTimesKnown(),
                plan.decisions().stream().map(d -> new ImageDecision(d.image().tags(), d.image().digest(), d.image().build(),
                        d.image().pushedAt(), d.image().lastPulled().orElse(null), d.image().pin(), d.keep() ? "keep" : "retire",
                        d.reason())).toList(),
                history.retirements(name));
    }

    @PostMapping("/pins")
    @ResponseStatus(HttpStatus.CREATED)
    @Operation(summary = "Pin an image by tag (platform role): kept whatever the policy says; a reason is required")
    PinRequest pin(@PathVariable String name, @RequestBody PinRequest request, Principal principal) {
        String reason = reason(request == null ? null : request.reason());
        if (request.tag() == null || request.tag().isBlank()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-pin", "a pin names the tag to keep", List.of());
        }
        stack(name);
        try {
            if (!history.pin(name, request.tag(), "api:" + principal.getName(), reason)) {
                throw ApiException.notFound("no-such-tag", "stack '" + name + "' has no live tag '" + request.tag() + "'");
            }
        } catch (IllegalStateException e) {
            throw new ApiException(HttpStatus.CONFLICT, "already-pinned", e.getMessage(), List.of());
        }
        return new PinRequest(request.tag(), reason);
    }

    @DeleteMapping("/pins/{tag}")
    @Operation(summary = "Unpin (platform role); a reason is required")
    PinRequest unpin(@PathVariable String name, @PathVariable String tag, @RequestParam(required = false) String reason,
                     Principal principal) {
        String why = reason(reason);
        stack(name);
        if (!history.unpin(name, tag, "api:" + principal.getName(), why)) {
            throw ApiException.notFound("not-pinned", name + ":" + tag + " is not pinned");
        }
        return new PinRequest(tag, why);
    }

    private static String reason(String reason) {
        if (reason == null || reason.isBlank()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "reason-required", "pinning and unpinning need a reason (who asked, why)",
                    List.of());
        }
        return reason.strip();
    }

    private Stack stack(String name) {
        return ApiException.validStack(Catalog.load(properties.catalog()), name);
    }
}
