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

    private static Lock.Package pkg(String name, String version, String arch, String sha) {
        return new Lock.Package(name, version, arch, "trixie", "http://x/" + name + "_" + arch + ".deb", 1, sha, null);
    }

    private static String sha(char c) {
        return String.valueOf(c).repeat(64);
    }

    private static Lock single(String arch, Lock.Package... packages) {
        return new Lock(Lock.VERSION, "s", "sha256:d", arch, List.of(new Lock.Release("http://deb.debian.org/debian", "trixie", "trixie", "13.2",
                "2026-11-21T09:15:44Z", null, "Debian", "ab")), List.of(packages), List.of(new Lock.Dropped("base-files", "awk")));
    }

    @Test
    void aLockOfSeveralArchitecturesSharesTheArchitectureAllPackagesAndGivesEachArchitecturesSet() {
        Lock amd64 = single("amd64", pkg("libc6", "2.41-12", "amd64", sha('a')), pkg("tzdata", "2026a-1", "all", sha('f')));
        Lock arm64 = single("arm64", pkg("libc6", "2.41-12", "arm64", sha('b')), pkg("tzdata", "2026a-1", "all", sha('f')));
        Lock both = Lock.combine(List.of(amd64, arm64));
        assertThat(both.lockVersion()).isEqualTo(Lock.MULTI_ARCHITECTURE_VERSION);
        assertThat(both.builtFor()).containsExactly("amd64", "arm64");
        assertThat(both.packages()).extracting(Lock.Package::name).containsExactly("tzdata");
        assertThat(both.dropped()).containsExactly(new Lock.Dropped("base-files", "awk"));
        assertThat(both.platforms()).allSatisfy(p -> assertThat(p.dropped()).isEmpty());
        assertThat(both.forArchitecture("arm64")).isEqualTo(arm64);
        assertThat(both.forArchitecture("amd64").digest()).isEqualTo(amd64.digest());
        assertThat(both.problems()).isEmpty();
        assertThat(both.allPackages()).hasSize(3);
        Lock read = LockFile.fromJson(LockFile.toJson(both));
        assertThat(read).isEqualTo(both);
        assertThat(read.samePackages(both)).isTrue();
        assertThat(Lock.combine(List.of(amd64))).as("one architecture stays a version-1 lock").isSameAs(amd64);

        // an arm64 change: named for arm64 only; a shared change: named once
        Lock armUpdate = Lock.combine(List.of(amd64, single("arm64", pkg("libc6", "2.41-13", "arm64", sha('c')),
                pkg("tzdata", "2026a-1", "all", sha('f')))));
        assertThat(armUpdate.samePackages(both)).isFalse();
        assertThat(armUpdate.changesSince(both)).extracting(Object::toString).containsExactly("~ libc6:arm64 2.41-12 -> 2.41-13");
        Lock tzUpdate = Lock.combine(List.of(single("amd64", pkg("libc6", "2.41-12", "amd64", sha('a')), pkg("tzdata", "2026b-1", "all", sha('e'))),
                single("arm64", pkg("libc6", "2.41-12", "arm64", sha('b')), pkg("tzdata", "2026b-1", "all", sha('e')))));
        assertThat(tzUpdate.changesSince(both)).extracting(Object::toString).containsExactly("~ tzdata 2026a-1 -> 2026b-1");
        // a single-architecture stack that gains arm64: arm64's whole set is new
        assertThat(both.changesSince(amd64)).extracting(Object::toString).containsExactly("+ libc6:arm64 2.41-12", "+ tzdata:arm64 2026a-1");
        assertThat(both.digest()).isNotEqualTo(armUpdate.digest()).isNotEqualTo(amd64.digest());
    }

    @Test
    void aLockOfSeveralArchitecturesIsCheckedFieldByField() {
        Lock amd64 = single("amd64", pkg("libc6", "2.41-12", "amd64", sha('a')));
        Lock arm64 = single("arm64", pkg("libc6", "2.41-12", "arm64", sha('b')));
        Lock both = Lock.combine(List.of(amd64, arm64));
        Lock wrong = new Lock(2, "s", "sha256:d", null, List.of("amd64", "arm64"), both.releases(),
                List.of(pkg("libc6", "2.41-12", "amd64", sha('a'))),
                List.of(), List.of(both.platforms().get(1), both.platforms().get(0)));
        assertThat(wrong.problems()).containsExactly(
                "architectures: [amd64, arm64] must name each of the platforms [arm64, amd64] once, in order",
                "packages[0].architecture: 'amd64' in a list for all");
        Lock misplaced = new Lock(2, "s", "sha256:d", null, List.of("amd64", "arm64"), both.releases(), List.of(), List.of(),
                List.of(new Lock.Platform("amd64", List.of(pkg("libc6", "2.41-12", "arm64", sha('b'))), List.of()), both.platforms().get(1)));
        assertThat(misplaced.problems()).containsExactly("platforms[0].packages[0].architecture: 'arm64' in a list for amd64");
    }

    @Test
    void aVersionOneLockReadsAndWritesBackToTheSameBytes() {
        String text = """
                {
                  "lockVersion" : 1,
                  "stack" : "s",
                  "stackDigest" : "sha256:d",
                  "architecture" : "amd64",
                  "releases" : [ {
                    "url" : "http://deb.debian.org/debian",
                    "suite" : "trixie",
                    "codename" : "trixie",
                    "version" : "13.2",
                    "date" : "2026-11-21T09:15:44Z",
                    "validUntil" : null,
                    "origin" : "Debian",
                    "inReleaseSha256" : "ab"
                  } ],
                  "packages" : [ {
                    "name" : "tzdata",
                    "version" : "2026a-1",
                    "architecture" : "all",
                    "suite" : "trixie",
                    "url" : "http://deb.debian.org/debian/pool/main/t/tzdata/tzdata_2026a-1_all.deb",
                    "size" : 1,
                    "sha256" : "%s",
                    "wantedBy" : null
                  } ],
                  "dropped" : [ ]
                }""".formatted(sha('f'));
        Lock lock = LockFile.fromJson(text);
        assertThat(lock.multiArchitecture()).isFalse();
        assertThat(lock.problems()).isEmpty();
        assertThat(LockFile.toJson(lock)).isEqualTo(text);
    }
}
