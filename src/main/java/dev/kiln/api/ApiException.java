package dev.kiln.api;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
import dev.kiln.security.UntrustedText;
import java.util.List;
import org.springframework.http.HttpStatus;

/** An API error that becomes an RFC 9457 problem: status, a stable type slug, a specific detail. */
final class ApiException extends RuntimeException {

    private final HttpStatus status;
    private final String type;
    private final List<String> problems;
    private final java.util.Map<String, Object> properties = new java.util.LinkedHashMap<>();

    ApiException(HttpStatus status, String type, String detail, List<String> problems) {
        super(detail);
        this.status = status;
        this.type = type;
        this.problems = List.copyOf(problems);
    }

    static ApiException notFound(String type, String detail) {
        return new ApiException(HttpStatus.NOT_FOUND, type, detail, List.of());
    }

    static ApiException noStack(String name, Catalog catalog) {
        return notFound("no-such-stack", "no stack " + UntrustedText.forLog(name, 100) + " (stacks: " + String.join(", ", catalog.names()) + ")");
    }

    /** The catalog's valid stack {@code name}: 404 when there is no such file, 422 with its problems when it is invalid. */
    static Stack validStack(Catalog catalog, String name) {
        if (!catalog.names().contains(name)) {
            throw noStack(name, catalog);
        }
        return catalog.stack(name).orElseThrow(() -> new ApiException(HttpStatus.UNPROCESSABLE_CONTENT, "invalid-stack",
                "stack '" + name + "' is invalid and is never built", catalog.problems(name).stream().map(Problem::toString).toList()));
    }

    /** Adds a member to the problem body (a value a client can use without parsing the detail). */
    ApiException with(String name, Object value) {
        properties.put(name, value);
        return this;
    }

    java.util.Map<String, Object> properties() {
        return properties;
    }

    HttpStatus status() {
        return status;
    }

    String type() {
        return type;
    }

    List<String> problems() {
        return problems;
    }
}
