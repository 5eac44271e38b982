package dev.kiln.api;

import dev.kiln.KilnProperties;
import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.history.History;
import dev.kiln.retire.RetentionPlanner;
import dev.kiln.retire.Retirer;
import dev.kiln.security.UntrustedText;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
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

    /** A pin: the tag (OCI tag grammar) and why, 1 to 1,000 characters. */
    record PinRequest(String tag, String reason) {
    }

    static final int MAX_REASON = 1000;
    private static final java.util.regex.Pattern TAG = java.util.regex.Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

    @GetMapping("/retirement")
    @Operation(summary = "The retention plan now (a dry run: keep or retire, with the reason, per image) and the retirements recorded")
    @ApiResponse(responseCode = "200", description = "The plan and the retirements")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`: its policy cannot be read from an invalid stack file")
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
    @ApiResponse(responseCode = "201", description = "Pinned")
    @ApiResponse(responseCode = "400", description = "`reason-required`, `bad-text` (reason over 1,000 characters or with control characters), "
            + "`bad-tag`, `bad-pin`, `bad-request` (not JSON, unknown field); or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`, or `no-such-tag`: the stack has no live image with that tag")
    @ApiResponse(responseCode = "409", description = "`already-pinned`")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`")
    PinRequest pin(@PathVariable String name, @RequestBody PinRequest request, Principal principal) {
        String reason = reason(request == null ? null : request.reason());
        if (request.tag() == null || request.tag().isBlank()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-pin", "a pin names the tag to keep", List.of());
        }
        tag(request.tag());
        stack(name);
        try {
            if (!history.pin(name, request.tag(), Actors.of(principal), reason)) {
                throw ApiException.notFound("no-such-tag", "stack '" + name + "' has no live tag '" + request.tag() + "'");
            }
        } catch (IllegalStateException e) {
            throw new ApiException(HttpStatus.CONFLICT, "already-pinned", e.getMessage(), List.of());
        }
        return new PinRequest(request.tag(), reason);
    }

    @DeleteMapping("/pins/{tag}")
    @Operation(summary = "Unpin (platform role); a reason is required")
    @ApiResponse(responseCode = "200", description = "Unpinned")
    @ApiResponse(responseCode = "400", description = "`reason-required`, `bad-text`, `bad-tag`; or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`, or `not-pinned`")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`")
    PinRequest unpin(@PathVariable String name, @PathVariable String tag, @RequestParam(required = false) String reason,
                     Principal principal) {
        String why = reason(reason);
        tag(tag);
        stack(name);
        if (!history.unpin(name, tag, Actors.of(principal), why)) {
            throw ApiException.notFound("not-pinned", name + ":" + tag + " is not pinned");
        }
        return new PinRequest(tag, why);
    }

    static String reason(String reason) {
        if (reason == null || reason.isBlank()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "reason-required", "pinning, unpinning and retiring need a reason (who asked, why)",
                    List.of());
        }
        UntrustedText.refusal(reason, MAX_REASON).ifPresent(why -> {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-text", "the reason " + why, List.of());
        });
        return reason.strip();
    }

    static void tag(String tag) {
        if (!TAG.matcher(tag).matches()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-tag", "the tag " + UntrustedText.forLog(tag, 140)
                    + " is not an image tag (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')", List.of());
        }
    }

    private Stack stack(String name) {
        return ApiException.validStack(Catalog.load(properties.catalog()), name);
    }
}
