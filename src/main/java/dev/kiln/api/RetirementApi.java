package dev.kiln.api;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
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
import java.util.Optional;
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
    private final CatalogCache catalogs;

    RetirementApi(Retirer retirer, History history, CatalogCache catalogs) {
        this.retirer = retirer;
        this.history = history;
        this.catalogs = catalogs;
    }

    record ImageDecision(List<String> tags, String digest, long build, Instant pushedAt, Instant lastPulled, String pin,
                         String decision, String reason) {
    }

    /** {@code removedAt}: the stack left the catalog then and is retired by the policy it last had. */
    record PlanView(String stack, String target, String repository, RetentionPlanner.Policy policy, boolean pullTimesKnown,
                    List<ImageDecision> images, List<History.Retirement> retirements, Instant removedAt) {
    }

    /** A pin names an image by {@code digest}, or by {@code repository} and {@code tag}; a reason is required. */
    record PinRequest(String digest, String repository, String tag, String reason) {
    }

    /** What a pin or unpin did: the image and every live tag of it it holds. */
    record Pinned(String digest, List<String> tags, String reason) {
    }

    static final int MAX_REASON = 1000;
    private static final java.util.regex.Pattern TAG = java.util.regex.Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

    @GetMapping("/retirement")
    @Operation(summary = "The retention plan now (a dry run: keep or retire, with the reason, per image) and the retirements recorded;"
            + " for a stack removed from the catalog, by the policy it last had")
    @ApiResponse(responseCode = "200", description = "The plan and the retirements")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`: its policy cannot be read from an invalid stack file")
    PlanView plan(@PathVariable String name) {
        Retirer.Subject subject = subject(name);
        Retirer.Plan plan = retirer.plan(subject);
        return new PlanView(plan.stack(), plan.target(), plan.repository(), plan.policy(), plan.pullTimesKnown(),
                plan.decisions().stream().map(d -> new ImageDecision(d.image().tags(), d.image().digest(), d.image().build(),
                        d.image().pushedAt(), d.image().lastPulled().orElse(null), d.image().pin(), d.keep() ? "keep" : "retire",
                        d.reason())).toList(),
                history.retirements(name), subject.removedAt());
    }

    @PostMapping("/pins")
    @ResponseStatus(HttpStatus.CREATED)
    @Operation(summary = "Pin an image by digest, or by repository and tag (platform role): kept whatever the policy says;"
            + " a reason is required")
    @ApiResponse(responseCode = "201", description = "Pinned: the image and its live tags")
    @ApiResponse(responseCode = "400", description = "`reason-required`, `bad-text` (reason over 1,000 characters or with control characters), "
            + "`bad-tag`, `bad-pin` (no digest, or a tag without its repository: the images it could mean are listed), "
            + "`bad-request` (not JSON, unknown field); or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`, or `no-such-image`: the stack has no live image so named")
    @ApiResponse(responseCode = "409", description = "`already-pinned`")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`: the stack file is invalid and no build of it was ever recorded")
    Pinned pin(@PathVariable String name, @RequestBody PinRequest request, Principal principal) {
        String reason = reason(request == null ? null : request.reason());
        subject(name);
        History.ImageName image = image(name, request.digest(), request.repository(), request.tag());
        try {
            return pinned(image, history.pin(name, image, Actors.of(principal), reason), reason);
        } catch (IllegalStateException e) {
            throw new ApiException(HttpStatus.CONFLICT, "already-pinned", e.getMessage(), List.of());
        }
    }

    @DeleteMapping("/pins")
    @Operation(summary = "Unpin an image named by digest, or by repository and tag (platform role); a reason is required")
    @ApiResponse(responseCode = "200", description = "Unpinned: the image and the tags it held")
    @ApiResponse(responseCode = "400", description = "`reason-required`, `bad-text`, `bad-tag`, `bad-pin`; or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`, or `not-pinned`")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`: the stack file is invalid and no build of it was ever recorded")
    Pinned unpin(@PathVariable String name, @RequestParam(required = false) String digest, @RequestParam(required = false) String repository,
                 @RequestParam(required = false) String tag, @RequestParam(required = false) String reason, Principal principal) {
        String why = reason(reason);
        subject(name);
        History.ImageName image = image(name, digest, repository, tag);
        List<History.LiveTag> unpinned = history.unpin(name, image, Actors.of(principal), why);
        if (unpinned.isEmpty()) {
            throw ApiException.notFound("not-pinned", name + ": " + image + " is not pinned");
        }
        return new Pinned(unpinned.get(0).digest(), unpinned.stream().map(t -> t.repository() + ":" + t.tag()).toList(), why);
    }

    private Pinned pinned(History.ImageName image, List<History.LiveTag> tags, String reason) {
        if (tags.isEmpty()) {
            throw ApiException.notFound("no-such-image", "no live image " + image + " of this stack");
        }
        return new Pinned(tags.get(0).digest(), tags.stream().map(t -> t.repository() + ":" + t.tag()).toList(), reason);
    }

    /** The image a request names; a bare tag is refused with the images it could mean. */
    private History.ImageName image(String stack, String digest, String repository, String tag) {
        boolean byDigest = digest != null && !digest.isBlank();
        boolean byTag = tag != null && !tag.isBlank();
        boolean byRepository = repository != null && !repository.isBlank();
        if (byTag) {
            tag(tag.strip()); // a malformed tag is named as such, whatever else the request lacks
        }
        if (byDigest && !byTag && !byRepository) {
            if (!digest.strip().matches("sha256:[0-9a-f]{64}")) {
                throw new ApiException(HttpStatus.BAD_REQUEST, "bad-pin", "digest '" + digest + "' is not sha256:<64 hex digits>", List.of());
            }
            return History.ImageName.digest(digest.strip());
        }
        if (!byDigest && byTag && byRepository) {
            return History.ImageName.tagged(repository.strip(), tag.strip());
        }
        List<String> candidates = byTag && !byDigest ? history.liveTagsNamed(stack, tag.strip()).stream()
                .map(t -> t.repository() + ":" + t.tag() + " = " + t.digest()).toList() : List.of();
        throw new ApiException(HttpStatus.BAD_REQUEST, "bad-pin", "name the image by 'digest', or by 'repository' and 'tag'"
                + (byTag && !byDigest ? ": a tag alone can name several images (after a repository change)" : ""), candidates);
    }

    static String reason(String reason) {
        return reason(reason, "pinning, unpinning and retiring need a reason (who asked, why)");
    }

    /** A reason given with an action, stripped; {@code required} says why when there is none. */
    static String reason(String reason, String required) {
        if (reason == null || reason.isBlank()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "reason-required", required, List.of());
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

    /**
     * What retirement works on for {@code name}: the catalog's definition of a valid stack, or, for a
     * stack removed from the catalog (or broken there now), what the history recorded last.
     */
    private Retirer.Subject subject(String name) {
        return subject(name, catalogs, history);
    }

    static Retirer.Subject subject(String name, CatalogCache catalogs, History history) {
        Catalog catalog = catalogs.current();
        Optional<Stack> valid = catalog.stack(name);
        if (valid.isPresent()) {
            return Retirer.Subject.of(valid.get());
        }
        Optional<Retirer.Subject> recorded = history.stack(name).flatMap(Retirer.Subject::recorded);
        if (recorded.isPresent()) {
            return recorded.get();
        }
        ApiException.validStack(catalog, name);
        throw ApiException.noStack(name, catalog);
    }
}
