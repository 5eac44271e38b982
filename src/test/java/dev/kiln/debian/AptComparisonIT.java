package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.testing.StaticFiles;
import dev.kiln.testing.TestArchive;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * Kiln's resolution against apt's, the real peer: for the example catalog and common packages, what
 * {@code apt-get -s install --no-install-recommends} selects on an empty dpkg status must be exactly
 * what Kiln selects, name and version, from the same real trixie indexes. The indexes are a snapshot
 * made by {@code .ci/fixtures} and served on loopback to both.
 */
class AptComparisonIT {

    static final List<String> COMMON = List.of("curl", "wget", "git", "openssh-client", "nginx", "postgresql-client",
            "python3-requests", "nodejs", "ruby", "openjdk-21-jdk-headless", "libpq5", "gnupg", "vim-tiny", "less", "jq",
            "zstd", "xz-utils", "sqlite3", "iproute2", "procps", "tini", "busybox", "rsync", "make", "redis-tools",
            "libxml2", "dumb-init", "golang-go", "perl", "default-jre-headless");

    @TempDir
    static Path tmp;

    private static StaticFiles mirror;
    private static Path aptRoot;
    private static PackageIndex index;

    @BeforeAll
    static void serveSnapshotAndUpdateApt() throws IOException {
        Path fixtures = Path.of(System.getenv().getOrDefault("KILN_FIXTURES", System.getProperty("user.home") + "/.cache/kiln/fixtures"), "debian-trixie");
        assertThat(fixtures.resolve("complete")).as("Debian index snapshot missing: run 'bash .ci/fixtures' first").exists();
        mirror = new StaticFiles(fixtures);
        Path keyring = Path.of("catalog/keys/debian-trixie.gpg").toAbsolutePath();
        Instant newest = Instant.EPOCH;
        for (String inRelease : List.of("debian/dists/trixie/InRelease", "debian/dists/trixie-updates/InRelease", "debian-security/dists/trixie-security/InRelease")) {
            String date = Files.readAllLines(fixtures.resolve(inRelease)).stream().filter(l -> l.startsWith("Date: ")).findFirst().orElseThrow().substring(6);
            Instant d = ZonedDateTime.parse(date.replace("UTC", "GMT"), java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            newest = d.isAfter(newest) ? d : newest;
        }
        DebianArchive archive = new DebianArchive(HttpClient.newHttpClient(), tmp.resolve("cache"),
                Map.of("http://deb.debian.org/debian", mirror.url() + "/debian", "http://deb.debian.org/debian-security", mirror.url() + "/debian-security"),
                Clock.fixed(newest.plusSeconds(3600), ZoneOffset.UTC));
        index = archive.load(new Distribution("amd64", keyring, List.of(
                new Distribution.Archive("http://deb.debian.org/debian", List.of("trixie", "trixie-updates"), List.of("main")),
                new Distribution.Archive("http://deb.debian.org/debian-security", List.of("trixie-security"), List.of("main"))))).index();

        aptRoot = tmp.resolve("apt");
        for (String d : List.of("etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "var/lib/apt/lists/partial",
                "var/cache/apt/archives/partial", "var/lib/dpkg")) {
            Files.createDirectories(aptRoot.resolve(d));
        }
        Files.writeString(aptRoot.resolve("var/lib/dpkg/status"), "");
        Files.writeString(aptRoot.resolve("etc/apt/sources.list"), String.join("\n",
                "deb [signed-by=" + keyring + "] " + mirror.url() + "/debian trixie main",
                "deb [signed-by=" + keyring + "] " + mirror.url() + "/debian trixie-updates main",
                "deb [signed-by=" + keyring + "] " + mirror.url() + "/debian-security trixie-security main", ""));
        Files.writeString(aptRoot.resolve("apt.conf"), """
                Dir "%1$s/";
                Dir::State::status "%1$s/var/lib/dpkg/status";
                APT::Architecture "amd64";
                APT::Architectures "amd64";
                Acquire::Languages "none";
                Acquire::Check-Valid-Until "false";
                APT::Sandbox::User "root";
                Debug::NoLocking "true";
                """.formatted(aptRoot));
        apt("update");
    }

    @AfterAll
    static void stop() {
        mirror.close();
    }

    private static String apt(String... args) {
        List<String> cmd = new ArrayList<>(List.of("env", "APT_CONFIG=" + aptRoot.resolve("apt.conf"), "apt-get", "-q"));
        cmd.addAll(Arrays.asList(args));
        return TestArchive.run(cmd);
    }

    private static Set<String> aptSelects(List<String> packages) {
        List<String> args = new ArrayList<>(List.of("-s", "install", "--no-install-recommends"));
        args.addAll(packages);
        Set<String> selected = new TreeSet<>();
        apt(args.toArray(String[]::new)).lines().filter(l -> l.startsWith("Inst ")).forEach(l -> {
            String[] p = l.split(" ");
            selected.add(p[1] + "=" + p[2].substring(1));
        });
        return selected;
    }

    private static Set<String> kilnSelects(List<String> packages) {
        Set<String> selected = new TreeSet<>();
        new PackageResolver().resolve(index, packages.stream().map(Relation::parse).toList(), Set.of())
                .packages().forEach(p -> selected.add(p.name() + "=" + p.version()));
        return selected;
    }

    @Test
    void kilnSelectsExactlyWhatAptSelects() throws IOException {
        Map<String, List<String>> cases = new LinkedHashMap<>();
        try (Stream<Path> stacks = Files.list(Path.of("catalog"))) {
            for (Path stack : stacks.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                Map<String, Object> yaml = new Yaml().load(Files.readString(stack));
                @SuppressWarnings("unchecked")
                List<String> packages = (List<String>) yaml.get("packages");
                cases.put("catalog/" + stack.getFileName(), packages);
            }
        }
        COMMON.forEach(p -> cases.put(p, List.of(p)));
        assertThat(cases).hasSizeGreaterThanOrEqualTo(24);
        List<String> differences = new ArrayList<>();
        cases.forEach((name, packages) -> {
            Set<String> apt = aptSelects(packages);
            Set<String> kiln = kilnSelects(packages);
            assertThat(apt).as("apt selected nothing for %s: the comparison would be empty", name).isNotEmpty();
            if (!apt.equals(kiln)) {
                Set<String> onlyApt = new TreeSet<>(apt);
                onlyApt.removeAll(kiln);
                Set<String> onlyKiln = new TreeSet<>(kiln);
                onlyKiln.removeAll(apt);
                differences.add(name + ": only apt " + onlyApt + ", only Kiln " + onlyKiln);
            }
        });
        assertThat(differences).as("Kiln and apt disagree").isEmpty();
    }
}
