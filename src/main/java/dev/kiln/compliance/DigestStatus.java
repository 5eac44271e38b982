package dev.kiln.compliance;

import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.json.JsonMapper;

/**
 * What became of an image digest Kiln published, for a developer's pipeline asking "is my base still
 * current?": {@code current} (the stack's approved image), {@code superseded} (by which approved image,
 * and what changed in packages and definition since), {@code retired} (deleted from the target: when,
 * why, by whom) or {@code quarantined} (held back by the scan gate, never approved).
 */
public final class DigestStatus {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final History history;
    private final BuildQueries queries;
    private final BuildRecords records;

    public DigestStatus(History history, BuildQueries queries, BuildRecords records) {
        this.history = history;
        this.queries = queries;
        this.records = records;
    }

    /** An image: the build that published it and where. */
    public record Image(String digest, long build, String stack, String tag, String reference, Instant publishedAt) {
    }

    public record Retired(Instant at, String reason, String by) {
    }

    /**
     * @param state          current, superseded, retired, quarantined, or removed (its stack left the catalog: no
     *                       image of it gets updates any more, and the stack's last retention policy retires them)
     * @param stackRemovedAt when the image's stack left the catalog (null: it is still there)
     * @param current        the stack's approved image now (null: none)
     * @param newerApproved  how many images the stack approved after this one
     * @param packageChanges from this image's packages to the current image's
     * @param definitionChanges from this image's stack definition to the current image's
     */
    public record Report(String digest, String state, Image image, Image current, Retired retired, int newerApproved,
                         List<Lock.Change> packageChanges, List<JsonDiff.Change> definitionChanges, java.time.Instant stackRemovedAt) {
        public Report {
            packageChanges = List.copyOf(packageChanges);
            definitionChanges = List.copyOf(definitionChanges);
        }
    }

    public Optional<Report> of(String digest) {
        List<BuildQueries.Published> builds = queries.published(digest);
        if (builds.isEmpty()) {
            return Optional.empty();
        }
        BuildQueries.Published newest = builds.get(0);
        Image image = image(newest);
        History.Stack stack = history.stack(newest.stack()).orElseThrow();
        Image current = stack.currentBuildId() == null ? null : history.build(stack.currentBuildId())
                .map(b -> new Image(b.imageDigest(), b.id(), b.stack(), b.tags() == null || b.tags().isEmpty() ? null : b.tags().get(0).asString(),
                        b.reference(), b.finishedAt()))
                .orElse(null);
        int newer = queries.approvedAfter(newest.stack(), newest.build()).size();
        Retired retired = builds.stream().filter(b -> b.retiredAt() != null).findFirst()
                .map(b -> new Retired(b.retiredAt(), b.retiredReason(), b.retiredBy())).orElse(null);
        boolean live = builds.stream().anyMatch(b -> b.retiredAt() == null && b.tag() != null);
        String state = !live && retired != null ? "retired"
                : stack.removedAt() != null ? "removed"
                : current != null && current.digest().equals(digest) ? "current"
                : builds.stream().allMatch(b -> "quarantined".equals(b.status())) ? "quarantined"
                : "superseded";
        List<Lock.Change> packages = List.of();
        List<JsonDiff.Change> definition = List.of();
        if (current != null && !state.equals("current") && !current.digest().equals(digest)) {
            packages = lock(current.build()).map(now -> now.changesSince(lock(newest.build()).orElse(null))).orElse(List.of());
            definition = JsonDiff.of(definition(newest.build()), definition(current.build()));
        }
        return Optional.of(new Report(digest, state, image, current, state.equals("current") ? null : retired, newer, packages, definition,
                stack.removedAt()));
    }

    private Optional<Lock> lock(long build) {
        return history.build(build).map(History.Build::lock).filter(l -> l != null && !l.isNull()).map(l -> LockFile.fromJson(l.toString()));
    }

    private tools.jackson.databind.JsonNode definition(long build) {
        String json = records.measured(build).stackDefinition();
        return json == null ? null : JSON.readTree(json);
    }

    private static Image image(BuildQueries.Published p) {
        return new Image(p.digest(), p.build(), p.stack(), p.tag(), p.reference(), p.finishedAt());
    }
}
