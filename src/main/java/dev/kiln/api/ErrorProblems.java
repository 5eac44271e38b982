package dev.kiln.api;

import io.swagger.v3.oas.annotations.Hidden;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The servlet container's error page ({@code /error}, where a filter's exception or a
 * {@code sendError} ends up) as a problem, in place of Spring Boot's page: the status and Kiln's
 * sentence for it, nothing of the exception.
 */
@RestController
@Hidden
class ErrorProblems implements ErrorController {

    @RequestMapping("${server.error.path:/error}")
    ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        HttpStatusCode status = HttpStatusCode.valueOf(code instanceof Integer i && i >= 400 && i < 600 ? i : 500);
        Throwable cause = (Throwable) request.getAttribute(RequestDispatcher.ERROR_EXCEPTION);
        HttpStatus known = HttpStatus.resolve(status.value());
        String detail = status.is5xxServerError() ? Problems.INTERNAL
                : known == null ? "the request failed" : known.getReasonPhrase().toLowerCase(java.util.Locale.ROOT);
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(Problems.problem(status, Problems.slug(status), detail, request, cause));
    }
}
