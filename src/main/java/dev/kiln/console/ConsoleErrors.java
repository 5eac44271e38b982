package dev.kiln.console;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.servlet.ModelAndView;

/** The console's errors as pages, not as the API's problem documents; a fault's cause goes to the log only. */
@ControllerAdvice(assignableTypes = {ConsolePages.class, ConsoleActions.class, ConsoleExport.class})
@Order(Ordered.HIGHEST_PRECEDENCE)
class ConsoleErrors {

    private static final Logger log = LoggerFactory.getLogger(ConsoleErrors.class);

    @ExceptionHandler(ResponseStatusException.class)
    ModelAndView status(ResponseStatusException e) {
        return page(HttpStatus.valueOf(e.getStatusCode().value()), e.getReason());
    }

    @ExceptionHandler(org.springframework.web.method.annotation.MethodArgumentTypeMismatchException.class)
    ModelAndView badParameter(org.springframework.web.method.annotation.MethodArgumentTypeMismatchException e) {
        return page(HttpStatus.BAD_REQUEST, "'" + e.getName() + "' is not a valid value here");
    }

    @ExceptionHandler(Exception.class)
    ModelAndView fault(Exception e) {
        String id = java.util.HexFormat.of().toHexDigits(java.util.concurrent.ThreadLocalRandom.current().nextLong());
        log.error("error {}: console page failed", id, e);
        return page(HttpStatus.INTERNAL_SERVER_ERROR, "the page failed inside Kiln; the service log has the cause under error id " + id);
    }

    private static ModelAndView page(HttpStatus status, String message) {
        ModelAndView mv = new ModelAndView("console/error");
        mv.setStatus(status);
        mv.addObject("status", status.value());
        mv.addObject("message", message == null ? status.getReasonPhrase() : message);
        return mv;
    }
}
