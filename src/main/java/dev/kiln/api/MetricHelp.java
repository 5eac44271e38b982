package dev.kiln.api;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import java.util.Map;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Every metric has HELP text in the Prometheus output: meters registered without a description (Kiln's
 * build meters, and the few of its libraries that have none) get theirs here, by name. ApiSecurityIT
 * scrapes the service and fails on any metric without one.
 */
@Configuration(proxyBeanMethods = false)
class MetricHelp {

    private static final Map<String, String> HELP = Map.ofEntries(
            Map.entry("kiln.builds", "Builds that ended, by stack and status"),
            Map.entry("kiln.build.duration", "How long builds took, by stack and status"),
            Map.entry("kiln.bytes.pushed", "Bytes pushed to the image target, by stack"),
            Map.entry("kiln.ticks.up_to_date", "Scheduled builds that found nothing changed and pushed nothing, by stack"),
            Map.entry("http.server.requests", "HTTP requests the API served, by method, URI template, status and outcome"),
            Map.entry("http.server.requests.active", "HTTP requests being served now"),
            Map.entry("spring.security.filterchains", "Requests through Spring Security's filter chains"),
            Map.entry("spring.security.authorizations", "Spring Security authorization decisions"),
            Map.entry("spring.security.authentications", "Spring Security authentication attempts"),
            Map.entry("spring.security.http.secured.requests", "Requests through Spring Security's secured request handling"),
            Map.entry("spring.security.filterchains.active", "Requests in Spring Security's filter chains now"),
            Map.entry("spring.security.authorizations.active", "Spring Security authorization decisions under way"),
            Map.entry("spring.security.authentications.active", "Spring Security authentication attempts under way"),
            Map.entry("spring.security.http.secured.requests.active", "Requests in Spring Security's secured request handling now"),
            Map.entry("tomcat.sessions.active.current", "HTTP sessions open now (the API keeps none)"),
            Map.entry("tomcat.sessions.active.max", "Most HTTP sessions open at once"),
            Map.entry("tomcat.sessions.alive.max", "Longest time an HTTP session lived"),
            Map.entry("tomcat.sessions.created", "HTTP sessions created"),
            Map.entry("tomcat.sessions.expired", "HTTP sessions expired"),
            Map.entry("tomcat.sessions.rejected", "HTTP sessions refused for being over the limit"),
            Map.entry("tasks.scheduled.execution", "Spring scheduled task runs"),
            Map.entry("tasks.scheduled.execution.active", "Spring scheduled task runs under way"));

    /** Meters named per filter of Spring Security's chains ({@code spring.security.filterchains.NAME.before}). */
    private static final String FILTER = "spring.security.filterchains.";

    @Bean
    MeterFilter metricDescriptions() {
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                String name = id.getName();
                String help = id.getDescription() != null && !id.getDescription().isBlank() ? null
                        : HELP.containsKey(name) ? HELP.get(name)
                        : name.startsWith(FILTER) ? "Requests through the filter " + name.substring(FILTER.length()).replaceFirst("\\.[^.]+$", "")
                                + " of Spring Security's chain, timed " + (name.endsWith(".before") ? "before it" : "after it")
                        : null;
                return help == null ? id : new Meter.Id(id.getName(), io.micrometer.core.instrument.Tags.of(id.getTags()), id.getBaseUnit(),
                        help, id.getType());
            }
        };
    }
}
