package dev.kiln.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.packageurl.PackageURL;
import com.networknt.schema.InputFormat;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.kiln.debian.Lock;
import dev.kiln.rebuild.StackBuilder;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The evidence of a real build: real Debian packages (from .ci/debs) and a package of the test's own,
 * re-published in a signed repository, locked and built by Kiln and pushed to a real registry (Debian's
 * docker-registry); then the predicates checked against the official JSON schemas, against real syft
 * reading the same image, and against the inputs they describe.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EvidenceContentsIT {

    private static final Path DEBS = Path.of(System.getenv().getOrDefault("KILN_FIXTURES",
            System.getProperty("user.home") + "/.cache/kiln/fixtures"), "debs");
    private static final Path SYFT = Path.of(System.getenv().getOrDefault("KILN_SYFT",
            System.getProperty("user.home") + "/.cache/kiln/bin/syft"));
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String ARCHIVE = "http://archive.kiln.test/debian";

    private Path tmp;
    private TestArchive repo;
    private TestRegistry registry;
    private BuildFacts facts;
    private StackBuilder.Result first;
    private Lock firstLock;
    private JsonNode provenance;
    private JsonNode spdx;
    private JsonNode cyclonedx;
    private JsonNode record;
    private List<Predicate> predicates;

    @BeforeAll
    void build(@TempDir Path dir) throws Exception {
        tmp = dir;
        assertThat(DEBS.resolve("complete")).as("real Debian packages: run .ci/debs first").exists();
        assertThat(SYFT).as("syft: run .ci/syft first").isExecutable();
        repo = new TestArchive(tmp.resolve("repo"));
        // the fixtures are bookworm's: the Release says so, as Debian's own does
        repo.origin("stable", "Debian", "12.12");
        try (var debs = Files.list(DEBS)) {
            debs.filter(p -> p.toString().endsWith(".deb")).forEach(p -> repo.add("stable", p));
        }
        probe("1.0");
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));
        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        // the stack names the archive by a host name, as real stacks do; Kiln fetches it through a mirror setting
        Files.writeString(catalog.resolve("python.yaml"), repo.stackHead("test python").replace(repo.url(), ARCHIVE) + """
                packages: [base-files, ca-certificates, tzdata, python3.11-minimal, kiln-probe]
                excludes: [openssl, debconf, debconf-2.0, awk, mawk]
                hardening:
                  removeShells: true
                  removePackageManagers: true
                  dropPaths: [/usr/share/doc, /usr/share/man, /usr/share/locale]
                entrypoint: [/usr/bin/python3.11]
                target:
                  repository: golden/python
                """);
        registry = new TestRegistry(tmp);
        RealBuild kiln = new RealBuild(catalog, tmp.resolve("data"), registry.address() + "/test", new String[] {ARCHIVE, repo.url()});

        Instant started = Instant.now();
        firstLock = kiln.lock("python");
        first = kiln.build("python", firstLock);
        // a newer kiln-probe: the next image's record shows the update
        probe("1.1");
        repo.publish("stable", Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(7)));
        StackBuilder.Result second = kiln.build("python", kiln.lock("python"));
        facts = kiln.facts(second, 2, started, new BuildFacts.Previous(1L, first.published().digest(), first.published().reference(), firstLock));
        predicates = EvidenceFactory.predicates(facts);
        provenance = JSON.readTree(predicates.get(0).json());
        spdx = JSON.readTree(predicates.get(1).json());
        cyclonedx = JSON.readTree(predicates.get(2).json());
        record = JSON.readTree(predicates.get(3).json());
        // kept for a reader of a failure (and of docs/evidence.md's examples)
        Path out = Files.createDirectories(Path.of("target/evidence-it"));
        for (Predicate p : predicates) {
            Files.write(out.resolve(p.cosignType().replaceAll("[^a-z0-9]+", "-") + ".json"), p.json());
        }
    }

    /** kiln-probe VERSION: a DEP-5 copyright file, a hardlink, a symlink, and a doc symlink of a sibling package. */
    private void probe(String version) throws IOException {
        Path tree = tmp.resolve("probe-" + version);
        Files.createDirectories(tree.resolve("usr/share/kiln-probe"));
        Files.createDirectories(tree.resolve("usr/share/doc/kiln-probe"));
        Files.writeString(tree.resolve("usr/share/kiln-probe/data"), "probe data " + version + "\n");
        Files.createLink(tree.resolve("usr/share/kiln-probe/same-data"), tree.resolve("usr/share/kiln-probe/data"));
        Files.createSymbolicLink(tree.resolve("usr/share/kiln-probe/link"), Path.of("data"));
        Files.writeString(tree.resolve("usr/share/doc/kiln-probe/copyright"), """
                Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
                Upstream-Name: kiln-probe

                Files: *
                Copyright: 2026 Kiln Tests <tests@kiln.test>
                License: GPL-2+

                Files: usr/share/kiln-probe/data
                Copyright: nobody
                License: public-domain

                License: GPL-2+
                 This program is free software; see /usr/share/common-licenses/GPL-2.

                License: public-domain
                 The data file is in the public domain.
                """);
        Files.createDirectories(tree.resolve("DEBIAN"));
        Files.writeString(tree.resolve("DEBIAN/control"), """
                Package: kiln-probe
                Source: kiln-probe-src (%s-0)
                Version: %s
                Architecture: amd64
                Maintainer: Kiln Probe Maintainers <probe@kiln.example.org>
                Homepage: https://kiln.example.org/probe
                Description: evidence test package
                """.formatted(version, version));
        TestArchive.run(List.of("dpkg-deb", "--root-owner-group", "-Zxz", "--build", tree.toString(),
                repo.root().resolve("pool/stable/main/kiln-probe_" + version + "_amd64.deb").toString()));
    }

    @AfterAll
    void stop() {
        if (registry != null) {
            registry.close();
        }
        if (repo != null) {
            repo.close();
        }
    }

    @Test
    void thePredicatesAreTheFourThatCosignKnows() {
        assertThat(predicates).extracting(Predicate::predicateType, Predicate::cosignType).containsExactly(
                org.assertj.core.groups.Tuple.tuple("https://slsa.dev/provenance/v1", "slsaprovenance1"),
                org.assertj.core.groups.Tuple.tuple("https://spdx.dev/Document", "spdxjson"),
                org.assertj.core.groups.Tuple.tuple("https://cyclonedx.org/bom", "cyclonedx"),
                org.assertj.core.groups.Tuple.tuple("https://kiln.dev/rebuild-record/v1", "https://kiln.dev/rebuild-record/v1"));
    }

    @Test
    void bothSbomsValidateAgainstTheirOfficialSchemas() throws IOException {
        // the schemas as the spec repositories publish them (src/test/resources/schemas), resolved offline
        JsonSchema bom = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7,
                b -> b.schemaMappers(m -> m.mapPrefix("http://cyclonedx.org/schema/", "classpath:schemas/")))
                .getSchema(SchemaLocation.of("http://cyclonedx.org/schema/bom-1.6.schema.json"));
        JsonSchema spdxSchema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7)
                .getSchema(Files.readString(Path.of("src/test/resources/schemas/spdx-2.3.schema.json")));
        assertThat(bom.validate(predicates.get(2).text(), InputFormat.JSON)).extracting(ValidationMessage::toString).isEmpty();
        assertThat(spdxSchema.validate(predicates.get(1).text(), InputFormat.JSON)).extracting(ValidationMessage::toString).isEmpty();
        // the schemas are not lax: a component of an unknown type, a file without checksums fail them
        JsonNode broken = cyclonedx.deepCopy();
        ((tools.jackson.databind.node.ObjectNode) broken.get("components").get(0)).put("type", "shared-object");
        assertThat(bom.validate(JSON.writeValueAsString(broken), InputFormat.JSON)).isNotEmpty();
        JsonNode noChecksums = spdx.deepCopy();
        ((tools.jackson.databind.node.ObjectNode) noChecksums.get("files").get(0)).remove("checksums");
        assertThat(spdxSchema.validate(JSON.writeValueAsString(noChecksums), InputFormat.JSON)).isNotEmpty();
    }

    @Test
    void theSpdxLibraryFindsNothingWrongWithTheDocument() throws Exception {
        var store = new org.spdx.jacksonstore.MultiFormatStore(new org.spdx.storage.simple.InMemSpdxStore(),
                org.spdx.jacksonstore.MultiFormatStore.Format.JSON);
        var doc = store.deSerialize(new java.io.ByteArrayInputStream(predicates.get(1).json()), false);
        assertThat(doc.verify()).isEmpty();
    }

    @Test
    void bothSbomsListExactlyThePackagesSyftFindsInTheImageAndTheLock() throws Exception {
        JsonNode syft = syft(facts.repository() + "@" + facts.digest());
        Set<String> syftDebs = new TreeSet<>();
        List<String> others = new ArrayList<>();
        for (JsonNode a : syft.get("artifacts")) {
            if (a.get("type").asString().equals("deb")) {
                // syft says the point release it reads in /etc/debian_version (debian-12.15), Kiln the release
                // (debian-12): the same distribution
                syftDebs.add(canonical(a.get("purl").asString().replaceFirst("distro=debian-12\\.[0-9]+", "distro=debian-12")));
            } else {
                others.add(a.get("type").asString() + " " + a.get("name").asString());
            }
        }
        assertThat(others).as("syft finds nothing but Debian packages").isEmpty();
        Set<String> spdxDebs = new TreeSet<>();
        for (JsonNode p : spdx.get("packages")) {
            if (!p.get("SPDXID").asString().equals("SPDXRef-Image")) {
                spdxDebs.add(canonical(purl(p)));
            }
        }
        Set<String> cdxDebs = new TreeSet<>();
        for (JsonNode c : cyclonedx.get("components")) {
            if (c.get("type").asString().equals("library")) {
                cdxDebs.add(canonical(c.get("purl").asString()));
            }
        }
        assertThat(spdxDebs).hasSize(facts.lock().packages().size()).isEqualTo(syftDebs);
        assertThat(cdxDebs).isEqualTo(syftDebs);
        assertThat(spdxDebs.stream().map(p -> p.replaceFirst("^pkg:deb/debian/([^@]+)@.*$", "$1")).collect(Collectors.toSet()))
                .isEqualTo(facts.lock().packages().stream().map(Lock.Package::name).collect(Collectors.toSet()));
        assertThat(spdxDebs).contains("pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc",
                "pkg:deb/debian/kiln-probe@1.1?arch=amd64&distro=debian-12&upstream=kiln-probe-src%401.1-0");

        // every file syft attributes to a package, the SBOM attributes to it too, with the same digests
        Map<String, String> spdxIds = new HashMap<>();
        for (JsonNode p : spdx.get("packages")) {
            spdxIds.put(p.get("SPDXID").asString(), p.get("name").asString());
        }
        Map<String, String> fileSha256 = new HashMap<>();
        for (JsonNode f : spdx.get("files")) {
            for (JsonNode c : f.get("checksums")) {
                if (c.get("algorithm").asString().equals("SHA256")) {
                    fileSha256.put(f.get("SPDXID").asString(), c.get("checksumValue").asString());
                }
            }
        }
        Map<String, Set<String>> owned = new TreeMap<>();
        Map<String, String> fileNames = new HashMap<>();
        spdx.get("files").forEach(f -> fileNames.put(f.get("SPDXID").asString(), f.get("fileName").asString()));
        for (JsonNode r : spdx.get("relationships")) {
            if (r.get("relationshipType").asString().equals("CONTAINS") && spdxIds.containsKey(r.get("spdxElementId").asString())
                    && fileNames.containsKey(r.get("relatedSpdxElement").asString())) {
                owned.computeIfAbsent(spdxIds.get(r.get("spdxElementId").asString()), k -> new TreeSet<>())
                        .add(fileNames.get(r.get("relatedSpdxElement").asString()).substring(1));
            }
        }
        int compared = 0;
        for (JsonNode a : syft.get("artifacts")) {
            JsonNode files = a.path("metadata").path("files");
            for (JsonNode f : files) {
                assertThat(owned.get(a.get("name").asString())).as(a.get("name").asString()).contains(f.get("path").asString());
                compared++;
            }
        }
        assertThat(compared).as("files syft attributes to packages").isGreaterThan(100);
    }

    @Test
    void packagesCarryTheirArchiveFileLicenceSupplierSourceAndFilesWithTheirDigests() throws Exception {
        JsonNode probe = spdxPackage("kiln-probe");
        Lock.Package locked = facts.lock().packages().stream().filter(p -> p.name().equals("kiln-probe")).findFirst().orElseThrow();
        assertThat(probe.get("versionInfo").asString()).isEqualTo("1.1");
        assertThat(probe.get("downloadLocation").asString()).isEqualTo(locked.url()).isEqualTo(ARCHIVE + "/pool/stable/main/kiln-probe_1.1_amd64.deb");
        assertThat(probe.get("checksums").get(0).get("checksumValue").asString()).isEqualTo(locked.sha256())
                .isEqualTo(TestArchive.sha256(Files.readAllBytes(repo.root().resolve("pool/stable/main/kiln-probe_1.1_amd64.deb"))));
        assertThat(probe.get("supplier").asString()).isEqualTo("Organization: Kiln Probe Maintainers (probe@kiln.example.org)");
        assertThat(spdxPackage("zlib1g").get("supplier").asString()).isEqualTo("Person: Mark Brown (broonie@debian.org)");
        assertThat(probe.get("homepage").asString()).isEqualTo("https://kiln.example.org/probe");
        assertThat(probe.get("sourceInfo").asString()).isEqualTo("built from Debian source package kiln-probe-src 1.1-0");
        // CycloneDX keeps Kiln's expression as written; the SPDX library writes the same licences as its own AND-set
        assertThat(cdxLicence("kiln-probe")).isEqualTo("GPL-2.0-or-later AND LicenseRef-public-domain");
        assertThat(terms(probe.get("licenseDeclared").asString())).isEqualTo(terms(cdxLicence("kiln-probe")));
        assertThat(probe.get("copyrightText").asString()).isEqualTo("2026 Kiln Tests <tests@kiln.test>\nnobody");
        JsonNode ref = stream(spdx.get("hasExtractedLicensingInfos")).filter(l -> l.get("licenseId").asString().startsWith("LicenseRef-public-domain"))
                .filter(l -> l.get("extractedText").asString().contains("The data file is in the public domain.")).findFirst().orElse(null);
        assertThat(ref).as("the public-domain text of the probe's copyright file").isNotNull();
        // real packages' DEP-5 files; tzdata's public-domain text differs from the probe's, so its ref is its own
        assertThat(cdxLicence("zlib1g")).isEqualTo("Zlib");
        assertThat(cdxLicence("libexpat1")).isEqualTo("MIT");
        assertThat(cdxLicence("ca-certificates")).isEqualTo("GPL-2.0-or-later AND MPL-2.0");
        assertThat(cdxLicence("tzdata")).startsWith("LicenseRef-public-domain-");
        // libgcc-s1 ships no copyright of its own but a doc link to gcc-12-base's
        assertThat(cdxLicence("libgcc-s1")).isEqualTo(cdxLicence("gcc-12-base")).contains("GPL-3.0-only");
        for (JsonNode p : spdx.get("packages")) {
            for (String term : terms(p.get("licenseDeclared").asString())) {
                if (term.startsWith("LicenseRef-")) {
                    assertThat(stream(spdx.get("hasExtractedLicensingInfos")).map(l -> l.get("licenseId").asString())).as(term).contains(term);
                }
            }
        }

        Map<String, String> probeFiles = new TreeMap<>();
        for (JsonNode c : stream(cyclonedx.get("components")).filter(c -> c.get("name").asString().equals("kiln-probe")).findFirst()
                .orElseThrow().get("components")) {
            probeFiles.put(c.get("name").asString(), c.has("hashes") ? c.get("hashes").get(1).get("content").asString()
                    : "-> " + c.get("properties").get(0).get("value").asString());
        }
        String data = TestArchive.sha256("probe data 1.1\n".getBytes(StandardCharsets.UTF_8));
        assertThat(probeFiles).containsEntry("/usr/share/kiln-probe/data", data).containsEntry("/usr/share/kiln-probe/same-data", data)
                .containsEntry("/usr/share/kiln-probe/link", "-> data").containsKey("/usr/share/doc/kiln-probe/copyright");
    }

    @Test
    void theImageIsTheDescribedRootAndKilnsOwnFilesAreKilnMade() {
        assertThat(relations("DESCRIBES", "SPDXRef-DOCUMENT")).containsExactly("SPDXRef-Image");
        JsonNode image = spdxPackage(facts.repository());
        assertThat(image.get("versionInfo").asString()).isEqualTo(facts.digest());
        assertThat(image.get("primaryPackagePurpose").asString()).isEqualTo("CONTAINER");
        assertThat(image.get("checksums").get(0).get("checksumValue").asString()).isEqualTo(facts.digest().substring(7));
        JsonNode root = cyclonedx.get("metadata").get("component");
        assertThat(root.get("type").asString()).isEqualTo("container");
        assertThat(root.get("version").asString()).isEqualTo(facts.digest());
        assertThat(root.get("purl").asString()).startsWith("pkg:oci/python@sha256%3A" + facts.digest().substring(7));

        Map<String, JsonNode> kilnFiles = new TreeMap<>();
        for (JsonNode f : spdx.get("files")) {
            if (f.has("fileContributors")) {
                kilnFiles.put(f.get("fileName").asString(), f);
            }
        }
        assertThat(kilnFiles).containsKeys("./etc/passwd", "./etc/group", "./etc/ssl/certs/ca-certificates.crt",
                "./var/lib/dpkg/status.d/libc6", "./var/lib/dpkg/status.d/libc6.md5sums");
        assertThat(kilnFiles.get("./etc/passwd").get("fileContributors").get(0).asString()).startsWith("Kiln ");
        String passwd = "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                + "nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n";
        assertThat(stream(kilnFiles.get("./etc/passwd").get("checksums")).map(c -> c.get("checksumValue").asString()))
                .contains(TestArchive.sha256(passwd.getBytes(StandardCharsets.UTF_8)));
        // the CA bundle was made from ca-certificates' certificates, libc6's status from libc6
        assertThat(relations("GENERATED_FROM", kilnFiles.get("./etc/ssl/certs/ca-certificates.crt").get("SPDXID").asString()))
                .containsExactly(spdxPackage("ca-certificates").get("SPDXID").asString());
        assertThat(relations("GENERATED_FROM", kilnFiles.get("./var/lib/dpkg/status.d/libc6").get("SPDXID").asString()))
                .containsExactly(spdxPackage("libc6").get("SPDXID").asString());
        JsonNode bundle = stream(cyclonedx.get("components")).filter(c -> c.get("name").asString().equals("/etc/ssl/certs/ca-certificates.crt"))
                .findFirst().orElseThrow();
        assertThat(bundle.get("manufacturer").get("name").asString()).isEqualTo("Kiln");
        assertThat(cyclonedx.get("compositions").get(0).get("aggregate").asString()).isEqualTo("complete");
    }

    @Test
    void theProvenanceNamesEveryInputWithItsDigest() throws IOException {
        JsonNode definition = provenance.get("buildDefinition");
        assertThat(definition.get("buildType").asString()).isEqualTo("https://kiln.dev/build-type/debian-image/v1");
        assertThat(definition.get("externalParameters").get("stack").asString()).isEqualTo("python");
        assertThat(definition.get("externalParameters").get("stackDigest").asString()).isEqualTo(facts.lock().stackDigest());
        Map<String, JsonNode> resolved = new HashMap<>();
        definition.get("resolvedDependencies").forEach(d -> resolved.put(d.get("uri").asString(), d));
        for (Lock.Package p : facts.lock().packages()) {
            assertThat(resolved.get(p.url()).get("digest").get("sha256").asString()).as(p.name()).isEqualTo(p.sha256());
        }
        JsonNode inRelease = resolved.get(ARCHIVE + "/dists/stable/InRelease");
        assertThat(inRelease.get("digest").get("sha256").asString())
                .isEqualTo(TestArchive.sha256(Files.readAllBytes(repo.root().resolve("dists/stable/InRelease"))));
        assertThat(inRelease.get("annotations").get("date").asString()).isEqualTo(facts.lock().releases().get(0).date());
        assertThat(resolved).containsKey("pkg:maven/dev.kiln/kiln@" + facts.kilnVersion());
        assertThat(resolved).hasSize(facts.lock().packages().size() + 2);
        JsonNode run = provenance.get("runDetails");
        assertThat(run.get("builder").get("id").asString()).isEqualTo("https://kiln.dev/builder/test-instance");
        assertThat(run.get("metadata").get("invocationId").asString()).isEqualTo("/api/builds/2");
        assertThat(Instant.parse(run.get("metadata").get("finishedOn").asString())).isAfterOrEqualTo(
                Instant.parse(run.get("metadata").get("startedOn").asString()));
    }

    @Test
    void theRebuildRecordShowsTheUpdateTheHardeningAndTheChecks() {
        assertThat(record.get("build").get("trigger").asString()).isEqualTo("manual");
        assertThat(record.get("build").get("by").asString()).isEqualTo("cli:tester");
        assertThat(record.get("previous").get("digest").asString()).isEqualTo(first.published().digest());
        assertThat(record.get("packageDiff").get("updated")).hasSize(1);
        JsonNode update = record.get("packageDiff").get("updated").get(0);
        assertThat(update.get("name").asString() + " " + update.get("from").asString() + " -> " + update.get("to").asString())
                .isEqualTo("kiln-probe 1.0 -> 1.1");
        assertThat(record.get("packageDiff").get("added")).isEmpty();
        assertThat(record.get("hardening").get("settings").get("removeShells").asBoolean()).isTrue();
        assertThat(record.get("hardening").get("droppedFiles").asLong()).isPositive();
        assertThat(stream(record.get("checksPassed")).map(JsonNode::asString).toList())
                .contains("no shell (hardening.removeShells)", "no setuid or setgid file", "runs as nonroot (uid 65532, gid 65532), not root")
                .anyMatch(c -> c.matches("[0-9]+ ELF files: every program and library built for amd64 \\(x86_64\\), every interpreter and all [0-9]+ needed"
                        + " libraries present in the image"));
    }

    @Test
    void theSameFactsGiveTheSameBytes() {
        List<Predicate> again = EvidenceFactory.predicates(facts);
        assertThat(again).isEqualTo(predicates);
    }

    private JsonNode syft(String image) throws IOException, InterruptedException {
        Path out = tmp.resolve("syft-" + System.nanoTime() + ".json");
        ProcessBuilder pb = new ProcessBuilder(SYFT.toString(), "scan", "registry:" + image, "-o", "syft-json=" + out, "-q")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("syft.log").toFile());
        pb.environment().put("SYFT_REGISTRY_INSECURE_USE_HTTP", "true");
        pb.environment().put("SYFT_CHECK_FOR_APP_UPDATE", "false");
        Process p = pb.start();
        assertThat(p.waitFor()).as(Files.readString(tmp.resolve("syft.log"))).isZero();
        return JSON.readTree(Files.readString(out));
    }

    private static String canonical(String purl) {
        try {
            return new PackageURL(purl).canonicalize();
        } catch (com.github.packageurl.MalformedPackageURLException e) {
            throw new AssertionError(purl, e);
        }
    }

    private static String purl(JsonNode spdxPackage) {
        return stream(spdxPackage.get("externalRefs")).filter(r -> r.get("referenceType").asString().equals("purl"))
                .map(r -> r.get("referenceLocator").asString()).findFirst().orElseThrow();
    }

    private String cdxLicence(String name) {
        return stream(cyclonedx.get("components")).filter(c -> c.get("name").asString().equals(name)).findFirst().orElseThrow()
                .get("licenses").get(0).get("expression").asString();
    }

    private static Set<String> terms(String expression) {
        return new TreeSet<>(List.of(expression.replace("(", " ").replace(")", " ").replace(" AND ", " ").trim().split("\\s+")));
    }

    private JsonNode spdxPackage(String name) {
        return stream(spdx.get("packages")).filter(p -> p.get("name").asString().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name));
    }

    private List<String> relations(String type, String from) {
        return stream(spdx.get("relationships")).filter(r -> r.get("relationshipType").asString().equals(type)
                && r.get("spdxElementId").asString().equals(from)).map(r -> r.get("relatedSpdxElement").asString()).toList();
    }

    private static java.util.stream.Stream<JsonNode> stream(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false);
    }
}
