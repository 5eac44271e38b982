package dev.kiln;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dependency direction, read from the sources' imports: the front ends (api, schedule, cli) use
 * the pipeline (rebuild) and the capabilities; the pipeline uses the capabilities; no capability
 * reaches back up. jib is imported in one package, the AWS SDK in one.
 */
class ArchitectureTest {

    private static final Path MAIN = Path.of("src/main/java/dev/kiln");
    private static final Set<String> FRONT_ENDS = Set.of("api", "schedule", "cli");
    private static final Set<String> CAPABILITIES = Set.of("catalog", "debian", "image", "publish", "history", "database", "ecr", "retire");

    private record Import(String pkg, String file, String target) {
    }

    private static List<Import> imports() throws IOException {
        List<Import> all = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path rel = MAIN.relativize(f);
                String pkg = rel.getNameCount() > 1 ? rel.getName(0).toString() : "";
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("import ")) {
                        all.add(new Import(pkg, rel.toString(), line.substring(7).replace(";", "").replace("static ", "").strip()));
                    }
                }
                // fully qualified uses in code count too
                String text = Files.readString(f);
                for (String layer : List.of("dev.kiln.api.", "dev.kiln.schedule.", "dev.kiln.cli.", "dev.kiln.rebuild.",
                        "com.google.cloud.tools.jib", "software.amazon.awssdk")) {
                    if (text.replaceAll("(?m)^import .*$", "").contains(layer)) {
                        all.add(new Import(pkg, rel.toString(), layer));
                    }
                }
            }
        }
        return all;
    }

    private static String layerOf(String target) {
        if (!target.startsWith("dev.kiln.")) {
            return null;
        }
        String rest = target.substring("dev.kiln.".length());
        int dot = rest.indexOf('.');
        return dot < 0 ? "" : rest.substring(0, dot);
    }

    @Test
    void capabilitiesNeverDependOnThePipelineOrTheFrontEnds() throws IOException {
        assertThat(imports()).filteredOn(i -> CAPABILITIES.contains(i.pkg()))
                .filteredOn(i -> {
                    String layer = layerOf(i.target());
                    return layer != null && (FRONT_ENDS.contains(layer) || layer.equals("rebuild"));
                })
                .isEmpty();
    }

    @Test
    void thePipelineNeverDependsOnTheFrontEnds() throws IOException {
        assertThat(imports()).filteredOn(i -> i.pkg().equals("rebuild"))
                .filteredOn(i -> FRONT_ENDS.contains(layerOf(i.target()) == null ? "" : layerOf(i.target())))
                .isEmpty();
    }

    @Test
    void jibAndTheAwsSdkEachStayInOnePackage() throws IOException {
        assertThat(imports()).filteredOn(i -> i.target().startsWith("com.google.cloud.tools.jib"))
                .extracting(Import::pkg).containsOnly("publish");
        assertThat(imports()).filteredOn(i -> i.target().startsWith("software.amazon.awssdk"))
                .extracting(Import::pkg).containsOnly("ecr");
    }
}
