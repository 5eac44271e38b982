package dev.kiln.api;

import dev.kiln.compliance.EvidenceExport;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The evidence export through the API (the compliance role): every build and audit entry of a period as
 * CSV or JSON, the zip with each approved image's documents and checklist, and the JSON's schema.
 */
@RestController
@RequestMapping("/api/evidence")
@Tag(name = "evidence", description = "Exports for compliance review (compliance role)")
class ExportApi {

    static final String SCHEMA = "/schemas/evidence-export.schema.json";

    private final EvidenceExport export;

    ExportApi(EvidenceExport export) {
        this.export = export;
    }

    @GetMapping(value = "/builds.csv", produces = "text/csv")
    @Operation(summary = "Every build requested, started or finished in [since, until) as CSV (columns in docs/console.md)")
    @ApiResponse(responseCode = "200", description = "The CSV", content = @Content(mediaType = "text/csv"))
    @ApiResponse(responseCode = "400", description = "`bad-range`; or a malformed request")
    void buildsCsv(@Parameter(description = "from (ISO-8601 instant; default 30 days before until)") @RequestParam(required = false) Instant since,
                   @Parameter(description = "to, excluded (default now)") @RequestParam(required = false) Instant until,
                   Principal principal, HttpServletResponse response) throws IOException {
        EvidenceExport.Period p = period(since, until, principal);
        start(response, "text/csv; charset=UTF-8", "kiln-builds.csv");
        export.buildsCsv(p, EvidenceExport.writer(response.getOutputStream()));
    }

    @GetMapping(value = "/audit.csv", produces = "text/csv")
    @Operation(summary = "Every audit entry written in [since, until) as CSV, in chain order with its hash links")
    @ApiResponse(responseCode = "200", description = "The CSV", content = @Content(mediaType = "text/csv"))
    @ApiResponse(responseCode = "400", description = "`bad-range`; or a malformed request")
    void auditCsv(@RequestParam(required = false) Instant since, @RequestParam(required = false) Instant until, Principal principal,
                  HttpServletResponse response) throws IOException {
        EvidenceExport.Period p = period(since, until, principal);
        start(response, "text/csv; charset=UTF-8", "kiln-audit.csv");
        export.auditCsv(p, EvidenceExport.writer(response.getOutputStream()));
    }

    @GetMapping(value = "/export.json", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Every build and audit entry of [since, until), and each approved image with its documents and checklist "
            + "(schema: /api/evidence/export.schema.json)")
    @ApiResponse(responseCode = "200", description = "The export", content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE))
    @ApiResponse(responseCode = "400", description = "`bad-range`; or a malformed request")
    void json(@RequestParam(required = false) Instant since, @RequestParam(required = false) Instant until, Principal principal,
              HttpServletResponse response) throws IOException {
        EvidenceExport.Period p = period(since, until, principal);
        start(response, MediaType.APPLICATION_JSON_VALUE, "kiln-evidence.json");
        export.json(p, response.getOutputStream());
    }

    @GetMapping(value = "/export.zip", produces = "application/zip")
    @Operation(summary = "The JSON and both CSVs, each approved image's SBOMs, provenance, rebuild record and checklist, and SHA256SUMS")
    @ApiResponse(responseCode = "200", description = "The zip", content = @Content(mediaType = "application/zip"))
    @ApiResponse(responseCode = "400", description = "`bad-range`; or a malformed request")
    void zip(@RequestParam(required = false) Instant since, @RequestParam(required = false) Instant until, Principal principal,
             HttpServletResponse response) throws IOException {
        EvidenceExport.Period p = period(since, until, principal);
        start(response, "application/zip", "kiln-evidence.zip");
        export.zip(p, response.getOutputStream());
    }

    @GetMapping(value = "/export.schema.json", produces = "application/schema+json")
    @Operation(summary = "The JSON Schema (2020-12) of export.json")
    @ApiResponse(responseCode = "200", description = "The schema")
    ResponseEntity<byte[]> schema() throws IOException {
        try (InputStream in = ExportApi.class.getResourceAsStream(SCHEMA)) {
            return ResponseEntity.ok().contentType(MediaType.parseMediaType("application/schema+json")).body(in.readAllBytes());
        }
    }

    private EvidenceExport.Period period(Instant since, Instant until, Principal principal) {
        Instant to = until == null ? Instant.now() : until;
        Instant from = since == null ? to.minus(Duration.ofDays(30)) : since;
        if (!to.isAfter(from)) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-range", "until (" + to + ") must be after since (" + from + ")", List.of());
        }
        try {
            return export.period(from, to, Actors.of(principal));
        } catch (EvidenceExport.TooLarge e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, "bad-range", e.getMessage(), List.of());
        }
    }

    static void start(HttpServletResponse response, String type, String file) {
        response.setContentType(type);
        response.setHeader("Content-Disposition", "attachment; filename=\"" + file + "\"");
        response.setHeader("Cache-Control", "no-store");
    }
}
