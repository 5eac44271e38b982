package dev.kiln.api;

import java.io.IOException;
import java.io.Writer;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;

/**
 * Tomcat answers some requests itself, before any filter: a malformed request line, header or URL
 * (say an encoded slash, or a character a URL may not hold). Its error report valve on the host wrote
 * an HTML page; this one writes the same problem+json as the rest of the API.
 */
final class TomcatProblems implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {

    @Override
    public void customize(TomcatServletWebServerFactory factory) {
        factory.addContextCustomizers(context -> {
            StandardHost host = (StandardHost) context.getParent();
            // the host makes a valve of this class at start unless one is there; Spring Boot adds a plain one
            host.setErrorReportValveClass(ProblemValve.class.getName());
            for (org.apache.catalina.Valve v : host.getPipeline().getValves()) {
                if (v instanceof ErrorReportValve) {
                    host.getPipeline().removeValve(v);
                }
            }
            host.getPipeline().addValve(new ProblemValve());
        });
    }

    /** After Spring Boot's own customizer, which adds the valve this one replaces. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }

    /** The host's error report valve, writing problems. */
    public static final class ProblemValve extends ErrorReportValve {

        @Override
        protected void report(Request request, Response response, Throwable throwable) {
            int status = response.getStatus();
            if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
                return;
            }
            HttpStatusCode code = HttpStatusCode.valueOf(status);
            String detail = status == 400 ? "the request could not be parsed (its request line, a header or the URL is malformed)"
                    : code.is5xxServerError() ? Problems.INTERNAL : "the request failed";
            ProblemDetail problem = Problems.problem(code, Problems.slug(code), detail, null, throwable);
            try {
                response.setContentType("application/problem+json");
                response.setCharacterEncoding("UTF-8");
                Writer writer = response.getReporter();
                if (writer != null) {
                    writer.write(Problems.json(problem, null));
                    response.finishResponse();
                }
            } catch (IOException | IllegalStateException e) {
                // the connection is gone; nothing more to tell the client
            }
        }
    }
}
