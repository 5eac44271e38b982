package dev.kiln.api;

import java.util.List;
import org.springframework.http.HttpStatus;

/** An API error that becomes an RFC 9457 problem: status, a stable type slug, a specific detail. */
final class ApiException extends RuntimeException {

    private final HttpStatus status;
    private final String type;
    private final List<String> problems;

    ApiException(HttpStatus status, String type, String detail, List<String> problems) {
        super(detail);
        this.status = status;
        this.type = type;
        this.problems = List.copyOf(problems);
    }

    static ApiException notFound(String type, String detail) {
        return new ApiException(HttpStatus.NOT_FOUND, type, detail, List.of());
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
