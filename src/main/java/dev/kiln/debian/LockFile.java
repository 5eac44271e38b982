package dev.kiln.debian;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** Reads and writes {@code <stack>.lock.json}; a write replaces the file atomically or not at all. */
public final class LockFile {

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private LockFile() {
    }

    public static Path path(Path catalogDir, String stack) {
        return catalogDir.resolve(stack + ".lock.json");
    }

    public static void write(Path file, Lock lock) {
        try {
            replace(file, JSON.writeValueAsString(lock) + "\n");
        } catch (IOException e) {
            throw new DebianException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Replaces a file's content atomically: readers see the old file or the new one, never half of one. */
    static void replace(Path file, String content) throws IOException {
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, content);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The lock as JSON, as the file holds it (the build history keeps it this way). */
    public static String toJson(Lock lock) {
        return JSON.writeValueAsString(lock);
    }

    public static Lock fromJson(String json) {
        return JSON.readValue(json, Lock.class);
    }

    /** The lock, or empty when there is none yet. */
    public static Optional<Lock> read(Path file) {
        try {
            Lock lock = JSON.readValue(Files.readString(file), Lock.class);
            if (lock.lockVersion() != Lock.VERSION) {
                throw new DebianException(file + ": lockVersion " + lock.lockVersion() + " is not supported (expected " + Lock.VERSION + ")");
            }
            List<String> problems = lock.problems();
            if (!problems.isEmpty()) {
                throw new DebianException(file + ": " + String.join("; " + file + ": ", problems));
            }
            return Optional.of(lock);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | JacksonException e) {
            throw new DebianException(file + ": not a readable lock: " + e.getMessage(), e);
        }
    }
}
