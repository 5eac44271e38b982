package dev.kiln.console;

import dev.kiln.compliance.EvidenceExport;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;

/** The evidence export from the console (compliance role): a period, then the CSVs, the JSON or the zip. */
@Controller
class ConsoleExport {

    private final EvidenceExport export;

    ConsoleExport(EvidenceExport export) {
        this.export = export;
    }

    @GetMapping("/console/export")
    String form(@RequestParam(required = false) String since, @RequestParam(required = false) String until, Authentication user, Model model) {
        model.addAttribute("views", new Views());
        model.addAttribute("page", "export");
        model.addAttribute("user", user.getName());
        model.addAttribute("platform", ConsolePages.has(user, "ROLE_PLATFORM"));
        model.addAttribute("compliance", true);
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        model.addAttribute("since", since == null ? today.minusDays(30).toString() : since);
        model.addAttribute("until", until == null ? today.plusDays(1).toString() : until);
        return "console/export";
    }

    @GetMapping("/console/export/{file}")
    void download(@PathVariable String file, @RequestParam(required = false) String since, @RequestParam(required = false) String until,
                  Principal principal, HttpServletResponse response) throws IOException {
        List<String> problems = new ArrayList<>();
        Instant to = ConsolePages.instant("until", until, problems);
        Instant from = ConsolePages.instant("since", since, problems);
        to = to == null ? Instant.now() : to;
        from = from == null ? to.minus(Duration.ofDays(30)) : from;
        if (!problems.isEmpty() || !to.isAfter(from)) {
            response.sendError(400, problems.isEmpty() ? "until must be after since" : String.join("; ", problems));
            return;
        }
        EvidenceExport.Period period;
        try {
            period = export.period(from, to, ConsolePages.actor(principal));
        } catch (EvidenceExport.TooLarge e) {
            response.sendError(400, e.getMessage());
            return;
        }
        switch (file) {
            case "builds.csv" -> {
                start(response, "text/csv; charset=UTF-8", "kiln-builds.csv");
                export.buildsCsv(period, EvidenceExport.writer(response.getOutputStream()));
            }
            case "audit.csv" -> {
                start(response, "text/csv; charset=UTF-8", "kiln-audit.csv");
                export.auditCsv(period, EvidenceExport.writer(response.getOutputStream()));
            }
            case "export.json" -> {
                start(response, "application/json", "kiln-evidence.json");
                export.json(period, response.getOutputStream());
            }
            case "export.zip" -> {
                start(response, "application/zip", "kiln-evidence.zip");
                export.zip(period, response.getOutputStream());
            }
            default -> response.sendError(404, "no such export");
        }
    }

    private static void start(HttpServletResponse response, String type, String file) {
        response.setContentType(type);
        response.setHeader("Content-Disposition", "attachment; filename=\"" + file + "\"");
        response.setHeader("Cache-Control", "no-store");
    }
}
