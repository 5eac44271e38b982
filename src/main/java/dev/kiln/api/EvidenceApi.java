package dev.kiln.api;

import dev.kiln.history.AuditChain;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Evidence for compliance reviewers (the compliance role): the audit trail of a period with every row's
 * place in the hash chain and its links, and the check of the whole chain as of now, so a reviewer can
 * keep the export and verify it later without access to the database.
 */
@RestController
@RequestMapping("/api/evidence")
@Tag(name = "evidence", description = "Exports for compliance review (compliance role)")
class EvidenceApi {

    static final int MAX_ENTRIES = 10_000;

    private final AuditChain chain;

    EvidenceApi(AuditChain chain) {
        this.chain = chain;
    }

    record Check(boolean intact, long rows, long headSeq, String headHash, AuditChain.Break broken) {
    }

    record AuditExport(Instant since, Instant until, Check chain, List<AuditChain.Entry> entries) {
    }

    @GetMapping("/audit")
    @Operation(summary = "The audit trail of [since, until) with its hash chain, and the check of the whole chain (compliance role)")
    @ApiResponse(responseCode = "200", description = "The entries in chain order and the chain's check")
    @ApiResponse(responseCode = "400", description = "`bad-range`: until not after since, or more than 10,000 entries in it; or a malformed request")
    AuditExport audit(@Parameter(description = "from (ISO-8601 instant; default 30 days before until)") @RequestParam(required = false) Instant since,
                      @Parameter(description = "to, exclusive (ISO-8601 instant; default now)") @RequestParam(required = false) Instant until) {
        Instant to = until == null ? Instant.now() : until;
        Instant from = since == null ? to.minus(Duration.ofDays(30)) : since;
        if (!to.isAfter(from)) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-range", "until (" + to + ") must be after since (" + from + ")", List.of());
        }
        AuditChain.Verification v = chain.verify();
        List<AuditChain.Entry> entries = chain.entries(from, to, MAX_ENTRIES + 1);
        if (entries.size() > MAX_ENTRIES) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-range", "more than " + MAX_ENTRIES + " audit entries from " + from + " to "
                    + to + "; export a shorter period", List.of());
        }
        return new AuditExport(from, to, new Check(v.intact(), v.rows(), v.headSeq(), v.headHash(), v.broken().orElse(null)), entries);
    }
}
