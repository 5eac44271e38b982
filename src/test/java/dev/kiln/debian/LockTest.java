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
    void aLockWrittenBeforeReleasesCarriedTheirOriginAndInReleaseHashStillReads() {
        Lock old = LockFile.fromJson("""
                {"lockVersion": 1, "stack": "s", "stackDigest": "sha256:d", "architecture": "amd64",
                 "releases": [{"url": "http://deb.debian.org/debian", "suite": "trixie", "codename": "trixie", "version": "13.2",
                               "date": "2026-11-21T09:15:44Z", "validUntil": null}],
                 "packages": [], "dropped": []}
                """);
        assertThat(old.releases()).containsExactly(new Lock.Release("http://deb.debian.org/debian", "trixie", "trixie", "13.2",
                "2026-11-21T09:15:44Z", null, null, null));
        assertThat(old.releases().get(0).inReleaseUrl()).isEqualTo("http://deb.debian.org/debian/dists/trixie/InRelease");
        Lock now = LockFile.fromJson(LockFile.toJson(new Lock(Lock.VERSION, "s", "sha256:d", "amd64", List.of(new Lock.Release(
                "http://deb.debian.org/debian", "trixie", "trixie", "13.2", "2026-11-21T09:15:44Z", null, "Debian", "ab12")), List.of(), List.of())));
        assertThat(now.releases().get(0).origin()).isEqualTo("Debian");
        assertThat(now.releases().get(0).inReleaseSha256()).isEqualTo("ab12");
    }

    @Test
    void aPoolPathThatOnlyClimbsOnceTheServerDecodesItIsRefused() {
        // "%2e%2e" passed the grammar that refuses "..": the mirror decoding it answered with a file outside its pool
        String bad = " has a path with '.', '..', empty or unexpected segments";
        Lock lock = new Lock(Lock.VERSION, "s", "d", "amd64", List.of(), List.of(
                new Lock.Package("aa", "1", "amd64", "trixie", "http://x/debian/pool/%2e%2e/%2e%2e/etc/passwd", 1, "0".repeat(64), null),
                new Lock.Package("bb", "1", "amd64", "trixie", "http://x/debian/pool/main/b%2f..%2f..%2fb.deb", 1, "0".repeat(64), null),
                new Lock.Package("cc", "1", "amd64", "trixie", "http://x/debian/pool/main/c%2Eb.deb", 1, "0".repeat(64), null),
                new Lock.Package("dd", "1", "amd64", "trixie", "http://x/debian/pool/main/d%zz.deb", 1, "0".repeat(64), null),
                new Lock.Package("ee", "1", "amd64", "trixie", "http://x/debian/pool/main/e/e_1%3a2~b%2b1_amd64.deb", 1, "0".repeat(64), null)),
                List.of());
        assertThat(lock.problems()).containsExactly(
                "packages[0].url: 'http://x/debian/pool/%2e%2e/%2e%2e/etc/passwd'" + bad,
                "packages[1].url: 'http://x/debian/pool/main/b%2f..%2f..%2fb.deb'" + bad,
                "packages[2].url: 'http://x/debian/pool/main/c%2Eb.deb'" + bad,
                "packages[3].url: 'http://x/debian/pool/main/d%zz.deb' is not a URL");
    }

    @Test
    void theDigestCoversPackagesAndTheStackButNotTheirOrder() {
        Lock a = lock("d", pkg("a", "1", "x"), pkg("b", "1", "y"));
        assertThat(lock("d", pkg("b", "1", "y"), pkg("a", "1", "x")).digest()).isEqualTo(a.digest());
        assertThat(lock("d2", pkg("a", "1", "x"), pkg("b", "1", "y")).digest()).isNotEqualTo(a.digest());
        assertThat(lock("d", pkg("a", "1", "x"), pkg("b", "1", "z")).digest()).as("another SHA-256").isNotEqualTo(a.digest());
    }
}
