package dev.kiln.api;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import io.swagger.v3.oas.models.servers.Server;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.springdoc.core.customizers.OperationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The OpenAPI document ({@code /v3/api-docs}) as the API behaves: each operation's real success status
 * (declared on it), and every problem it can answer, each as {@code application/problem+json}. The
 * server is {@code kiln.api.public-url} or, unset, {@code /} (relative to the document): never the
 * request's Host header, which a client chooses.
 */
@Configuration(proxyBeanMethods = false)
class OpenApiDocument {

    /** The problems any operation can answer, whatever it does. */
    private static final Map<String, String> COMMON = Map.of(
            "400", "A malformed request: a parameter of the wrong type, a URL Kiln refuses (`;`, `//`, `../`, encoded slashes, control "
                    + "characters) or a request Tomcat cannot parse",
            "401", "No credentials, wrong credentials, or a bearer token that is expired or not from the configured issuer",
            "403", "Signed in without the role this operation needs, or a state-changing request from another site",
            "429", "Sign-in throttled after repeated failures for this user or from this address; `Retry-After` says when to try again",
            "500", "A fault inside Kiln; `errorId` finds it in the service log");

    @Bean
    OpenAPI kilnOpenApi(ApiProperties properties) {
        Schema<?> problem = new ObjectSchema().description("RFC 9457 problem details")
                .addProperty("type", new StringSchema().format("uri").example("urn:kiln:problem:no-such-stack"))
                .addProperty("title", new StringSchema())
                .addProperty("status", new IntegerSchema())
                .addProperty("detail", new StringSchema().description("what was wrong, in Kiln's words"))
                .addProperty("instance", new StringSchema().format("uri"))
                .addProperty("errorId", new StringSchema().description("the id the service log carries this problem under"))
                .addProperty("problems", new ArraySchema().items(new StringSchema()).description("each problem of an invalid stack"));
        return new OpenAPI()
                .info(new Info().title("Kiln").description("Curated base images: stacks, build provenance, approved digests, evidence"))
                .servers(List.of(new Server().url(properties.publicUrl() == null ? "/" : properties.publicUrl().toString())))
                .components(new Components()
                        .addSecuritySchemes("basic", new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("basic"))
                        .addSecuritySchemes("bearer", new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("bearer").bearerFormat("JWT"))
                        .addSchemas("Problem", problem))
                .addSecurityItem(new SecurityRequirement().addList("basic"))
                .addSecurityItem(new SecurityRequirement().addList("bearer"));
    }

    @Bean
    OperationCustomizer problemResponses() {
        return (operation, handler) -> {
            ApiResponses responses = operation.getResponses() == null ? new ApiResponses() : operation.getResponses();
            boolean otherSuccess = responses.keySet().stream().anyMatch(code -> code.startsWith("2") && !code.equals("200"));
            if (otherSuccess) {
                responses.remove("200");
            }
            Map<String, String> problems = new LinkedHashMap<>(COMMON);
            if (operation.getRequestBody() != null) {
                problems.put("413", "The request body is larger than `kiln.api.max-body-bytes`");
                problems.put("415", "A request body that is not `application/json`");
            }
            problems.forEach((code, description) -> responses.putIfAbsent(code, new ApiResponse().description(description)));
            TreeMap<String, ApiResponse> sorted = new TreeMap<>(responses);
            ApiResponses ordered = new ApiResponses();
            sorted.forEach((code, response) -> {
                if (code.startsWith("2") && response.getContent() != null && response.getContent().containsKey("*/*")) {
                    // every success is JSON (springdoc says */* for a mapping that does not declare what it produces)
                    response.setContent(new Content().addMediaType("application/json", response.getContent().get("*/*")));
                }
                if (code.startsWith("4") || code.startsWith("5")) {
                    response.setContent(new Content().addMediaType("application/problem+json",
                            new MediaType().schema(new Schema<>().$ref("#/components/schemas/Problem"))));
                }
                ordered.addApiResponse(code, response);
            });
            operation.setResponses(ordered);
            return operation;
        };
    }
}
