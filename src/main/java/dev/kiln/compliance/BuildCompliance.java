package dev.kiln.compliance;

import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The compliance checklist of a recorded build, from what it recorded. An up-to-date build made no
 * image of its own: its checklist is that of the build whose image it found unchanged.
 */
public final class BuildCompliance {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final History history;
    private final BuildRecords records;
    private final EvidenceView evidence;

    public BuildCompliance(History history, BuildRecords records, EvidenceView evidence) {
        this.history = history;
        this.records = records;
        this.evidence = evidence;
    }

    public EvidenceView evidence() {
        return evidence;
    }

    /** The build whose image {@code build} stands for: itself, or for an up-to-date build the one that made the image. */
    public long imageBuild(History.Build build) {
        return "up-to-date".equals(build.status()) && build.previousBuildId() != null ? build.previousBuildId() : build.id();
    }

    public Optional<Checklist.Result> checklist(long id) {
        return history.build(id).map(this::checklist);
    }

    public Checklist.Result checklist(History.Build build) {
        long imageBuild = imageBuild(build);
        History.Build image = imageBuild == build.id() ? build : history.build(imageBuild).orElse(build);
        BuildRecords.Measured m = records.measured(image.id());
        Inspection inspection = m.inspection() == null ? null : JSON.treeToValue(m.inspection(), Inspection.class);
        JsonNode definition = m.stackDefinition() == null ? null : JSON.readTree(m.stackDefinition());
        Checklist.Result result = Checklist.of(new Checklist.Input(image.id(), image.status(), image.target(), definition, m.imageConfig(),
                inspection, m.scan(), evidence.status(image.id())));
        return new Checklist.Result(build.id(), result.items());
    }
}
