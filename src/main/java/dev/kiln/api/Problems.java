package dev.kiln.api;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every API error as an RFC 9457 problem ({@code application/problem+json}): Kiln's own errors, Spring
 * MVC's (bad parameters, unknown paths) and the security layer's 401 and 403.
 */
@RestControllerAdvice
class Problems extends ResponseEntityExceptionHandler {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Problems.class);

    static URI type(String slug) {
        return URI.create("urn:kiln:problem:" + slug);
    }

    @ExceptionHandler(ApiException.class)
    ProblemDetail kiln(ApiException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(e.status(), e.getMessage());
        problem.setType(type(e.type()));
        problem.setTitle(e.status().getReasonPhrase());
        if (!e.problems().isEmpty()) {
            problem.setProperty("problems", e.problems());
        }
        e.properties().forEach(problem::setProperty);
        return problem;
    }

    /** Anything else: a 500 problem that says where to look, never a stack trace. */
    @ExceptionHandler(RuntimeException.class)
    ProblemDetail unexpected(RuntimeException e) {
        log.error("API request failed", e);
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.INTERNAL_SERVER_ERROR,
                e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        problem.setType(type("internal"));
        problem.setTitle(HttpStatus.INTERNAL_SERVER_ERROR.getReasonPhrase());
        return problem;
    }

    /** Writes a problem outside Spring MVC (the security filters). */
    static void write(HttpServletResponse response, HttpStatusCode status, String slug, String detail) throws IOException {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(type(slug));
        problem.setTitle(HttpStatus.valueOf(status.value()).getReasonPhrase());
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setCharacterEncoding("UTF-8");
        if (status.value() == 401) {
            response.setHeader("WWW-Authenticate", "Basic realm=\"kiln\"");
        }
        response.getWriter().write(JSON.writeValueAsString(problem));
    }
}
