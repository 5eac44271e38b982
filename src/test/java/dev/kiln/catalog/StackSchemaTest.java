package dev.kiln.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The schema editors use and the parser Kiln uses must accept the same keys and the same stacks. */
class StackSchemaTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final JsonNode schemaJson = JSON.readTree(Files.readString(Path.of("catalog/stack.schema.json")));
    // json-schema-validator 1.x, the one cyclonedx-core-java links against (see pom.xml); it reads JSON text
    private final JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
            .getSchema(Files.readString(Path.of("catalog/stack.schema.json")));

    StackSchemaTest() throws IOException {
    }

    @Test
    void schemaAndParserKnowTheSameKeys() {
        assertThat(keys(schemaJson)).isEqualTo(new TreeSet<>(StackParser.KEYS.get("")));
        assertThat(keys(schemaJson.at("/properties/source"))).isEqualTo(new TreeSet<>(StackParser.KEYS.get("source")));
        assertThat(keys(schemaJson.at("/properties/source/properties/archives/items"))).isEqualTo(new TreeSet<>(StackParser.KEYS.get("source.archives[]")));
        for (String object : new String[] {"user", "hardening", "schedule", "target", "retention"}) {
            assertThat(keys(schemaJson.at("/properties/" + object))).as(object).isEqualTo(new TreeSet<>(StackParser.KEYS.get(object)));
        }
    }

    @Test
    void everyExampleStackPassesTheSchema() throws IOException {
        for (String name : new String[] {"static", "cc", "python3", "java"}) {
            assertThat(schema.validate(yaml(Files.readString(Path.of("catalog", name + ".yaml"))), InputFormat.JSON)).as(name).isEmpty();
        }
    }

    @Test
    void theSchemaRejectsWhatTheParserRejects() throws IOException {
        String java = Files.readString(Path.of("catalog/java.yaml"));
        assertThat(schema.validate(yaml(java + "colour: blue\n"), InputFormat.JSON)).isNotEmpty();
        assertThat(schema.validate(yaml(java.replace("golden/java", "Golden/Java")), InputFormat.JSON)).isNotEmpty();
        assertThat(schema.validate(yaml(java.replace("architecture: amd64", "architecture: amd65")), InputFormat.JSON)).isNotEmpty();
    }

    private static String yaml(String text) {
        Map<String, Object> tree = new Yaml().load(text);
        return JSON.writeValueAsString(tree);
    }

    private static Set<String> keys(JsonNode object) {
        Set<String> keys = new TreeSet<>();
        Iterator<String> it = object.get("properties").propertyNames().iterator();
        it.forEachRemaining(keys::add);
        return keys;
    }
}
