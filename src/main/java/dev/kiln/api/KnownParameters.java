package dev.kiln.api;

import dev.kiln.security.UntrustedText;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.DefaultParameterNameDiscoverer;
import org.springframework.core.MethodParameter;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * A query parameter an API operation does not take is refused (400 {@code bad-parameter}, naming it and
 * the ones it takes), never silently ignored: {@code ?statsu=failed} must not list every build as if it
 * were filtered. The parameters an operation takes are its {@code @RequestParam}s.
 */
@Configuration(proxyBeanMethods = false)
class KnownParameters implements WebMvcConfigurer {

    private static final DefaultParameterNameDiscoverer NAMES = new DefaultParameterNameDiscoverer();

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(new HandlerInterceptor() {
            @Override
            public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
                if (handler instanceof HandlerMethod method && request.getQueryString() != null) {
                    check(request.getQueryString(), taken(method));
                }
                return true;
            }
        }).addPathPatterns("/api/**");
    }

    static Set<String> taken(HandlerMethod method) {
        Set<String> names = new TreeSet<>();
        for (MethodParameter p : method.getMethodParameters()) {
            RequestParam param = p.getParameterAnnotation(RequestParam.class);
            if (param != null) {
                p.initParameterNameDiscovery(NAMES);
                names.add(!param.name().isEmpty() ? param.name() : !param.value().isEmpty() ? param.value() : p.getParameterName());
            }
        }
        return names;
    }

    static void check(String query, Set<String> taken) {
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            String name = URLDecoder.decode(pair.split("=", 2)[0], StandardCharsets.UTF_8);
            if (!taken.contains(name)) {
                throw new ApiException(HttpStatus.BAD_REQUEST, "bad-parameter", "unknown parameter " + UntrustedText.forLog(name, 60)
                        + (taken.isEmpty() ? ": this operation takes none" : " (this operation takes: " + String.join(", ", new TreeSet<>(taken)) + ")"),
                        List.of());
            }
        }
    }
}
