package dev.kiln.api;

import dev.kiln.catalog.CatalogCache;
import dev.kiln.history.RebaseGrants;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.security.Principal;
import java.time.Instant;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * Re-basing a stack on purpose: the service's {@code kiln lock --rebase=REASON}. A stack's builds refuse
 * an InRelease older than one Kiln accepted (a rollback) and versions lower than its published image's;
 * after a platform user grants a re-base (moving to a snapshot mirror of an earlier day, say), its next
 * build accepts them once, and the move is recorded with that user's name and reason.
 */
@RestController
@RequestMapping("/api/stacks/{name}")
@Tag(name = "stacks")
class RebaseApi {

    private final RebaseGrants rebases;
    private final CatalogCache catalogs;

    RebaseApi(RebaseGrants rebases, CatalogCache catalogs) {
        this.rebases = rebases;
        this.catalogs = catalogs;
    }

    record RebaseRequest(String reason) {
    }

    record Granted(long grant, String stack, String grantedBy, String reason, Instant grantedAt) {
    }

    @PostMapping("/rebase")
    @ResponseStatus(HttpStatus.CREATED)
    @Operation(summary = "Let the stack's next build accept older Releases and lower versions, once (platform role): a re-base onto a"
            + " snapshot mirror of an earlier day; a reason is required. The build that publishes with it records the move"
            + " (archive, suite, from and to dates) under the caller's name and reason")
    @ApiResponse(responseCode = "201", description = "Granted: the stack's next build may go back")
    @ApiResponse(responseCode = "400", description = "`reason-required`, `bad-text` (reason over 1,000 characters or with control characters),"
            + " `bad-request` (not JSON, unknown field); or a malformed request")
    @ApiResponse(responseCode = "404", description = "`no-such-stack`: no such stack file in the catalog")
    @ApiResponse(responseCode = "409", description = "`rebase-pending`: a re-base granted earlier is not used yet")
    @ApiResponse(responseCode = "422", description = "`invalid-stack`: the stack file is invalid and never built")
    Granted rebase(@PathVariable String name, @RequestBody(required = false) RebaseRequest request, Principal principal) {
        String reason = RetirementApi.reason(request == null ? null : request.reason(), "a re-base needs a reason (who asked, why),"
                + " for example {\"reason\": \"snapshot mirror of 2026-10-01 for the INC-42 audit\"}");
        ApiException.validStack(catalogs.current(), name);
        try {
            RebaseGrants.Grant g = rebases.grant(name, Actors.of(principal), reason);
            return new Granted(g.id(), g.stack(), g.by(), g.reason(), g.at());
        } catch (IllegalStateException e) {
            throw new ApiException(HttpStatus.CONFLICT, "rebase-pending", e.getMessage(), List.of());
        }
    }
}
