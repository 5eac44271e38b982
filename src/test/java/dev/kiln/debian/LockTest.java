package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class LockTest {

    private static Lock lock(String stackDigest, Lock.Package... packages) {
        return new Lock(Lock.VERSION, "s", stackDigest, "amd64", List.of(), List.of(packages), List.of());
    }

    private static Lock.Package pkg(String name, String version, String sha) {
        return new Lock.Package(name, version, "amd64", "trixie", "http://x/" + name + ".deb", 1, sha, null);
    }

    @Test
    void changesListAddedUpdatedAndRemovedPackagesByName() {
        Lock before = lock("d", pkg("libc6", "2.41-12", "a"), pkg("tzdata", "2025b-4", "b"), pkg("gone", "1", "c"));
        Lock after = lock("d", pkg("tzdata", "2026a-1", "e"), pkg("libc6", "2.41-12", "a"), pkg("new", "2", "f"));
        assertThat(after.changesSince(before)).extracting(Object::toString)
                .containsExactly("+ new 2", "~ tzdata 2025b-4 -> 2026a-1", "- gone 1");
        assertThat(after.changesSince(null)).isEmpty();
        assertThat(after.changesSince(after)).isEmpty();
    }

    @Test
    void theDigestCoversPackagesAndTheStackButNotTheirOrder() {
        Lock a = lock("d", pkg("a", "1", "x"), pkg("b", "1", "y"));
        assertThat(lock("d", pkg("b", "1", "y"), pkg("a", "1", "x")).digest()).isEqualTo(a.digest());
        assertThat(lock("d2", pkg("a", "1", "x"), pkg("b", "1", "y")).digest()).isNotEqualTo(a.digest());
        assertThat(lock("d", pkg("a", "1", "x"), pkg("b", "1", "z")).digest()).as("another SHA-256").isNotEqualTo(a.digest());
    }
}
