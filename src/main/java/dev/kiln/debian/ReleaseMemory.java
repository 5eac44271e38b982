package dev.kiln.debian;

import java.time.Instant;
import java.util.Optional;

/**
 * The newest Release Date Kiln has accepted per archive and suite: what an InRelease may never go back
 * before (a mirror replaying an old, validly signed Release is a rollback). It only moves forward,
 * except by a deliberate re-base, which is recorded with who did it and why. Adapters: a JSON file in
 * the data directory ({@link JsonFileReleaseMemory}) and PostgreSQL for the service.
 */
public interface ReleaseMemory {

    /** The newest Date accepted for this archive and suite, if any. */
    Optional<Instant> newest(String archiveUrl, String suite);

    /** Remembers an accepted Release; a date older than the one remembered changes nothing. */
    void accepted(String archiveUrl, String suite, Instant date);

    /** Records a deliberate move from {@code from} back to {@code to}, and remembers {@code to}. */
    void rebased(String archiveUrl, String suite, Instant from, Instant to, String who, String why);

    /** Where it is kept, for messages ("remembered in ..."). */
    String where();

    /** How its user accepts an older Release on purpose, for the refusal of a rollback. */
    default String rebaseHint() {
        return "lock with --rebase=REASON";
    }

    /** Remembers nothing: for tools and tests that must not keep state. */
    ReleaseMemory NONE = new ReleaseMemory() {
        @Override
        public Optional<Instant> newest(String archiveUrl, String suite) {
            return Optional.empty();
        }

        @Override
        public void accepted(String archiveUrl, String suite, Instant date) {
        }

        @Override
        public void rebased(String archiveUrl, String suite, Instant from, Instant to, String who, String why) {
        }

        @Override
        public String where() {
            return "nowhere";
        }
    };
}
