package dev.kiln.debian;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The release memory of the CLI: {@code <data-dir>/state/releases.json}, the newest accepted Date per
 * archive and suite plus every re-base with who and why. Updates take a file lock and replace the file
 * atomically, so two commands running at once neither lose an update nor leave half a file.
 */
public final class JsonFileReleaseMemory implements ReleaseMemory {

    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private final Path file;

    public JsonFileReleaseMemory(Path stateDir) {
        this.file = stateDir.resolve("releases.json");
    }

    /** The file's content. */
    public record State(List<Seen> releases, List<Rebase> rebases) {
        public State {
            releases = releases == null ? List.of() : List.copyOf(releases);
            rebases = rebases == null ? List.of() : List.copyOf(rebases);
        }
    }

    public record Seen(String archive, String suite, String date) {
    }

    public record Rebase(String archive, String suite, String from, String to, String by, String reason, String at) {
    }

    @Override
    public Optional<Instant> newest(String archiveUrl, String suite) {
        return read().releases().stream().filter(s -> s.archive().equals(archiveUrl) && s.suite().equals(suite))
                .map(s -> Instant.parse(s.date())).findFirst();
    }

    @Override
    public void accepted(String archiveUrl, String suite, Instant date) {
        update(state -> {
            Optional<Instant> known = state.releases().stream().filter(s -> s.archive().equals(archiveUrl) && s.suite().equals(suite))
                    .map(s -> Instant.parse(s.date())).findFirst();
            return known.isPresent() && !date.isAfter(known.get()) ? null : with(state, archiveUrl, suite, date, null);
        });
    }

    @Override
    public void rebased(String archiveUrl, String suite, Instant from, Instant to, String who, String why) {
        update(state -> with(state, archiveUrl, suite, to,
                new Rebase(archiveUrl, suite, from.toString(), to.toString(), who, why, Instant.now().toString())));
    }

    @Override
    public String where() {
        return file.toString();
    }

    public State read() {
        try {
            return Files.exists(file) ? JSON.readValue(Files.readString(file), State.class) : new State(List.of(), List.of());
        } catch (IOException | JacksonException e) {
            throw new DebianException(file + ": not a readable release memory (" + e.getMessage()
                    + "); it guards against rollback, so Kiln stops rather than forget: repair or remove it");
        }
    }

    private static State with(State state, String archive, String suite, Instant date, Rebase rebase) {
        List<Seen> releases = new ArrayList<>(state.releases().stream()
                .filter(s -> !(s.archive().equals(archive) && s.suite().equals(suite))).toList());
        releases.add(new Seen(archive, suite, date.toString()));
        releases.sort(java.util.Comparator.comparing(Seen::archive).thenComparing(Seen::suite));
        List<Rebase> rebases = new ArrayList<>(state.rebases());
        if (rebase != null) {
            rebases.add(rebase);
        }
        return new State(releases, rebases);
    }

    private void update(java.util.function.UnaryOperator<State> change) {
        try {
            Files.createDirectories(file.getParent());
            try (FileChannel lockFile = FileChannel.open(file.resolveSibling("releases.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
                State next = change.apply(read());
                if (next == null) {
                    return;
                }
                LockFile.replace(file, JSON.writeValueAsString(next) + "\n");
            }
        } catch (IOException e) {
            throw new DebianException("cannot update " + file + ": " + e.getMessage(), e);
        }
    }
}
