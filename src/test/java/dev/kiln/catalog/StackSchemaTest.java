package dev.kiln.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
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
    private final Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(schemaJson);

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
            assertThat(schema.validate(yaml(Files.readString(Path.of("catalog", name + ".yaml"))))).as(name).isEmpty();
        }
    }

    @Test
    void theSchemaRejectsWhatTheParserRejects() throws IOException {
        String java = Files.readString(Path.of("catalog/java.yaml"));
        assertThat(schema.validate(yaml(java + "colour: blue\n"))).isNotEmpty();
        assertThat(schema.validate(yaml(java.replace("golden/java", "Golden/Java")))).isNotEmpty();
        assertThat(schema.validate(yaml(java.replace("architecture: amd64", "architecture: amd65")))).isNotEmpty();
    }

    private static JsonNode yaml(String text) {
        Map<String, Object> tree = new Yaml().load(text);
        return JSON.valueToTree(tree);
    }

    private static Set<String> keys(JsonNode object) {
        Set<String> keys = new TreeSet<>();
        Iterator<String> it = object.get("properties").propertyNames().iterator();
        it.forEachRemaining(keys::add);
        return keys;
    }
}
