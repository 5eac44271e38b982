package dev.kiln.api;

import dev.kiln.security.UntrustedText;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import org.springframework.web.servlet.resource.NoResourceFoundException;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.PropertyBindingException;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every error as an RFC 9457 problem ({@code application/problem+json}): Kiln's own, Spring MVC's (bad
 * parameters, bodies, unknown paths), the security layer's, the servlet container's. The detail is
 * Kiln's own sentence, never an exception's text: that may hold SQL, class names or a path on the
 * server. Each problem carries an {@code errorId} that its log line carries too, so a user's report
 * finds the cause.
 */
@RestControllerAdvice
class Problems extends ResponseEntityExceptionHandler {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Logger log = LoggerFactory.getLogger(Problems.class);

    static URI type(String slug) {
        return URI.create("urn:kiln:problem:" + slug);
    }

    /** A problem with a new error id, logged with it: server errors with their cause, the rest in a line. */
    static ProblemDetail problem(HttpStatusCode status, String slug, String detail, HttpServletRequest request, Throwable cause) {
        String errorId = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(type(slug));
        HttpStatus known = HttpStatus.resolve(status.value());
        problem.setTitle(known == null ? "Error" : known.getReasonPhrase());
        problem.setProperty("errorId", errorId);
        String where = request == null ? "" : request.getMethod() + " " + UntrustedText.forLog(request.getRequestURI(), 200) + ": ";
        if (status.is5xxServerError()) {
            log.error("error {}: {} {}{}", errorId, status.value(), where, detail, cause);
        } else {
            log.info("problem {}: {} {} {}{}", errorId, status.value(), slug, where, detail);
        }
        return problem;
    }

    @ExceptionHandler(ApiException.class)
    ProblemDetail kiln(ApiException e, HttpServletRequest request) {
        ProblemDetail problem = problem(e.status(), e.type(), e.getMessage(), request, null);
        if (!e.problems().isEmpty()) {
            problem.setProperty("problems", e.problems());
        }
        e.properties().forEach(problem::setProperty);
        return problem;
    }

    /** Anything else is a fault of Kiln's or of a peer's: 500, with nothing of the exception but its error id. */
    @ExceptionHandler(Exception.class)
    ProblemDetail unexpected(Exception e, HttpServletRequest request) {
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "internal", INTERNAL, request, e);
    }

    static final String INTERNAL = "the request failed inside Kiln; the service log has the cause under this error id";

    /** Spring MVC's own errors, each with a sentence of Kiln's instead of the exception's text. */
    @Override
    protected ResponseEntity<Object> handleExceptionInternal(Exception ex, Object body, HttpHeaders headers, HttpStatusCode status,
                                                             WebRequest webRequest) {
        HttpServletRequest request = webRequest instanceof ServletWebRequest s ? s.getRequest() : null;
        HttpStatusCode code = status;
        String slug = slug(status);
        String detail;
        if (ex instanceof HttpMessageNotReadableException) {
            BodyRefusal refusal = BodyRefusal.of(ex);
            code = refusal.status();
            slug = refusal.slug();
            detail = refusal.detail();
        } else if (ex instanceof MethodArgumentTypeMismatchException e) {
            Class<?> type = e.getRequiredType();
            detail = "parameter '" + e.getName() + "' must be " + (type == null ? "of another type"
                    : type == int.class || type == long.class || type == Integer.class || type == Long.class ? "an integer"
                    : type == java.time.Instant.class ? "an ISO-8601 instant such as 2026-01-31T00:00:00Z"
                    : "a " + type.getSimpleName());
        } else if (ex instanceof MissingServletRequestParameterException e) {
            detail = "parameter '" + e.getParameterName() + "' is required";
        } else if (ex instanceof HttpRequestMethodNotSupportedException e) {
            detail = e.getMethod() + " is not supported here" + (e.getSupportedHttpMethods() == null ? ""
                    : " (allowed: " + String.join(", ", e.getSupportedHttpMethods().stream().map(Object::toString).toList()) + ")");
        } else if (ex instanceof HttpMediaTypeNotSupportedException) {
            detail = "this Content-Type is not accepted here; send application/json";
        } else if (ex instanceof NoResourceFoundException && request != null) {
            detail = "no such endpoint: " + request.getMethod() + " " + UntrustedText.forLog(request.getRequestURI(), 200);
            slug = "no-such-endpoint";
        } else {
            HttpStatus known = HttpStatus.resolve(status.value());
            detail = known == null ? "the request failed" : known.getReasonPhrase().toLowerCase(java.util.Locale.ROOT);
        }
        return ResponseEntity.status(code).headers(headers).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem(code, slug, detail, request, code.is5xxServerError() ? ex : null));
    }

    /** The type slug of a framework error by its status. */
    static String slug(HttpStatusCode status) {
        return switch (status.value()) {
            case 400 -> "bad-request";
            case 401 -> "unauthenticated";
            case 403 -> "forbidden";
            case 404 -> "not-found";
            case 405 -> "method-not-allowed";
            case 406 -> "not-acceptable";
            case 413 -> "body-too-large";
            case 415 -> "unsupported-media-type";
            case 429 -> "too-many-requests";
            default -> status.is5xxServerError() ? "internal" : "error";
        };
    }

    /** What was wrong with a request body, from the cause of Spring's "not readable". */
    private record BodyRefusal(HttpStatusCode status, String slug, String detail) {

        static BodyRefusal of(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof RequestLimits.BodyTooLarge tooLarge) {
                    return new BodyRefusal(HttpStatus.CONTENT_TOO_LARGE, "body-too-large", tooLarge.getMessage());
                }
                if (t instanceof TextModule.Refused refused) {
                    return new BodyRefusal(HttpStatus.BAD_REQUEST, "bad-text", at(refused) + refused.getOriginalMessage());
                }
                if (t instanceof PropertyBindingException p) {
                    return new BodyRefusal(HttpStatus.BAD_REQUEST, "bad-request", "unknown field " + UntrustedText.forLog(p.getPropertyName(), 100)
                            + (p.getPath().size() > 1 ? " " + at(p).strip() : "") + " in the request body");
                }
                if (t instanceof MismatchedInputException m) {
                    return new BodyRefusal(HttpStatus.BAD_REQUEST, "bad-request", at(m) + "the request body does not have the shape this "
                            + "endpoint takes (see /v3/api-docs)");
                }
                if (t instanceof StreamReadException s) {
                    return new BodyRefusal(HttpStatus.BAD_REQUEST, "bad-request", "the request body is not valid JSON"
                            + (s.getLocation() == null ? "" : " (line " + s.getLocation().getLineNr() + ", column " + s.getLocation().getColumnNr() + ")"));
                }
            }
            return new BodyRefusal(HttpStatus.BAD_REQUEST, "bad-request", "the request body is missing or cannot be read");
        }

        private static String at(JacksonException e) {
            String path = e.getPath().stream().map(r -> r.getPropertyName() != null ? r.getPropertyName() : "[" + r.getIndex() + "]")
                    .reduce("", (a, b) -> a.isEmpty() || b.startsWith("[") ? a + b : a + "." + b);
            return path.isEmpty() ? "" : "field " + UntrustedText.forLog(path, 100) + ": ";
        }
    }

    /** Writes a problem outside Spring MVC (the security filters, the limits filter). */
    static void write(HttpServletRequest request, HttpServletResponse response, HttpStatusCode status, String slug, String detail,
                      HttpHeaders headers) throws IOException {
        ProblemDetail problem = problem(status, slug, detail, request, null);
        response.setStatus(status.value());
        headers.forEach((name, values) -> values.forEach(v -> response.addHeader(name, v)));
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setCharacterEncoding("UTF-8");
        response.getWriter().write(json(problem, request == null ? null : request.getRequestURI()));
    }

    /** A problem's JSON as Spring MVC writes it (its properties at the top level), where Spring MVC does not write it. */
    static String json(ProblemDetail problem, String instance) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", problem.getType().toString());
        body.put("title", problem.getTitle());
        body.put("status", problem.getStatus());
        body.put("detail", problem.getDetail());
        if (instance != null) {
            body.put("instance", instance);
        }
        if (problem.getProperties() != null) {
            body.putAll(problem.getProperties());
        }
        return JSON.writeValueAsString(body);
    }
}
