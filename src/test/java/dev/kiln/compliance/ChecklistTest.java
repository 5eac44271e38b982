package dev.kiln.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.image.LayerInspector;
import dev.kiln.publish.ImageTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ChecklistTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNode DEFINITION = JSON.readTree("""
            {"user": {"name": "app", "uid": 65532, "gid": 65532},
             "hardening": {"stripSetuid": true, "removeShells": true, "removePackageManagers": false, "dropPaths": []}}""");
    private static final JsonNode CONFIG = JSON.readTree("""
            {"config": {"User": "65532:65532", "Labels": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z",
              "org.opencontainers.image.version": "21", "org.opencontainers.image.title": "java",
              "org.opencontainers.image.description": "d", "org.opencontainers.image.authors": "team@example.com",
              "org.opencontainers.image.vendor": "Kiln", "dev.kiln.stack": "java", "dev.kiln.stack.digest": "sha256:1",
              "dev.kiln.lock.digest": "sha256:2"}}}""");
    private static final EvidenceView.Status UNSIGNED = new EvidenceView.Status(false, null, List.of(
            new EvidenceView.Listed(EvidenceView.Kind.SPDX, "https://spdx.dev/Document", "sha256:aa", 10, false),
            new EvidenceView.Listed(EvidenceView.Kind.CYCLONEDX, "https://cyclonedx.org/bom", "sha256:bb", 10, false)), "not signed");

    private static LayerInspector.Facts layer(List<LayerInspector.Entry> notRoot, List<LayerInspector.Entry> writable, List<String> shells,
                                              List<String> managers, List<LayerInspector.Secret> secrets, List<LayerInspector.Entry> setuid) {
        return new LayerInspector.Facts("sha256:l", 10, 5, 1000, setuid, setuid.size(), notRoot, notRoot.size(), writable, writable.size(),
                shells, managers, secrets, secrets.size());
    }

    private static Map<String, Checklist.Status> statuses(Checklist.Result r) {
        Map<String, Checklist.Status> out = new LinkedHashMap<>();
        r.items().forEach(i -> out.put(i.id(), i.status()));
        return out;
    }

    @Test
    void aCleanImageOnARegistryPassesWhatItMeasuredAndSaysWhatTheRegistryCannotEnforce() {
        LayerInspector.Facts clean = layer(List.of(new LayerInspector.Entry("/home/app", 65532, 65532, "0755", "directory")),
                List.of(new LayerInspector.Entry("/tmp", 0, 0, "1777", "directory")), List.of(), List.of("/usr/bin/dpkg"), List.of(), List.of());
        Inspection inspection = new Inspection(Instant.EPOCH, List.of(clean), new Inspection.Target("localhost:5000", "21-20260101.1", true, null));
        Checklist.Result r = Checklist.of(new Checklist.Input(7, "succeeded", "localhost:5000", DEFINITION, CONFIG, inspection, null, UNSIGNED));
        assertThat(statuses(r)).containsExactly(Map.entry("non-root-user", Checklist.Status.PASS), Map.entry("no-setuid", Checklist.Status.PASS),
                Map.entry("no-shells", Checklist.Status.PASS), Map.entry("no-package-managers", Checklist.Status.NOT_APPLICABLE),
                Map.entry("read-only-root-fs", Checklist.Status.PASS), Map.entry("root-owned", Checklist.Status.PASS),
                Map.entry("immutable-tag", Checklist.Status.WARN), Map.entry("signed", Checklist.Status.FAIL), Map.entry("sbom", Checklist.Status.WARN),
                Map.entry("scanned", Checklist.Status.NOT_APPLICABLE), Map.entry("labels", Checklist.Status.PASS),
                Map.entry("no-secrets", Checklist.Status.PASS), Map.entry("customer-key", Checklist.Status.NOT_APPLICABLE));
        assertThat(r.summary()).isEqualTo("7 pass, 2 warn, 1 fail, 3 n/a");
        assertThat(r.items().get(3).evidence()).isEqualTo("the stack keeps them (hardening.removePackageManagers is not set); found: /usr/bin/dpkg");
        assertThat(r.items().get(4).evidence()).contains("can write nowhere but /tmp, /var/tmp and /home/app");
    }

    @Test
    void whatWasMeasuredWrongFailsWithTheEvidence() {
        LayerInspector.Facts bad = layer(List.of(new LayerInspector.Entry("/opt/app", 65532, 0, "0755", "directory")),
                List.of(new LayerInspector.Entry("/etc/app.conf", 0, 0, "0666", "file")), List.of("/bin/sh"), List.of(),
                List.of(new LayerInspector.Secret("/root/.ssh/id_rsa", "private key (PEM)", "-----BEGIN RSA PRIVATE KEY-----")),
                List.of(new LayerInspector.Entry("/usr/bin/su", 0, 0, "4755", "file")));
        ImageTarget.Protection mutable = new ImageTarget.Protection("MUTABLE", List.of(), "AES256", null, "arn:aws:kms:eu-west-1:1:key/k");
        Inspection inspection = new Inspection(Instant.EPOCH, List.of(bad), new Inspection.Target("ecr:1.dkr.ecr", "21-20260101.1", true, mutable));
        JsonNode root = JSON.readTree("{\"config\": {\"User\": \"0\", \"Volumes\": {\"/data\": {}}}}");
        JsonNode scan = JSON.readTree("{\"status\": \"COMPLETE\", \"gate\": \"HIGH\", \"severities\": {\"CRITICAL\": 1}}");
        Checklist.Result r = Checklist.of(new Checklist.Input(8, "quarantined", "ecr:1.dkr.ecr", DEFINITION, root, inspection, scan, UNSIGNED));
        Map<String, Checklist.Item> items = r.items().stream().collect(Collectors.toMap(Checklist.Item::id, i -> i));
        assertThat(items.get("non-root-user").evidence()).isEqualTo("the pushed config's User is 0: root");
        assertThat(items.get("no-setuid").evidence()).isEqualTo("1 entry has the setuid or setgid bit: /usr/bin/su (4755)");
        assertThat(items.get("no-shells").evidence()).isEqualTo("hardening.removeShells is set, but the layers hold /bin/sh");
        assertThat(items.get("read-only-root-fs").evidence()).isEqualTo("the config declares volumes [/data]: the image expects to write there");
        assertThat(items.get("root-owned").evidence()).isEqualTo("not owned by root: /opt/app (65532:0); writable by group or others: /etc/app.conf (0666)");
        assertThat(items.get("immutable-tag").evidence()).isEqualTo("the repository's tag mutability is MUTABLE: 21-20260101.1 can be moved");
        assertThat(items.get("scanned").status()).isEqualTo(Checklist.Status.FAIL);
        assertThat(items.get("labels").evidence()).startsWith("missing from the pushed config: org.opencontainers.image.created");
        assertThat(items.get("no-secrets").evidence()).isEqualTo("1 found: private key (PEM) in /root/.ssh/id_rsa (-----BEGIN RSA PRIVATE KEY-----)");
        assertThat(items.get("customer-key").evidence()).startsWith("the configured key is arn:aws:kms:eu-west-1:1:key/k, but the repository is encrypted with AES256");
        assertThat(r.items()).filteredOn(i -> !Set.of("no-package-managers", "sbom").contains(i.id()))
                .allMatch(i -> i.status() == Checklist.Status.FAIL);
    }

    @Test
    void anIndexScannedPerPlatformImageNamesEachPlatformsFindings() {
        Inspection inspection = new Inspection(Instant.EPOCH, List.of(), new Inspection.Target("ecr:x", "21-20260101.1", true,
                new ImageTarget.Protection("IMMUTABLE", List.of(), "KMS", "k", "k")));
        JsonNode scan = JSON.readTree("""
                {"status": "COMPLETE", "gate": "HIGH", "severities": {"HIGH": 1}, "findings": ["linux/arm64: HIGH CVE-1"],
                 "platforms": [{"platform": "linux/amd64", "status": "COMPLETE", "severities": {}},
                               {"platform": "linux/arm64", "status": "COMPLETE", "severities": {"HIGH": 1}}]}""");
        Checklist.Item held = Checklist.of(new Checklist.Input(9, "quarantined", "ecr:x", DEFINITION, CONFIG, inspection, scan, UNSIGNED))
                .items().stream().filter(i -> i.id().equals("scanned")).findFirst().orElseThrow();
        assertThat(held.status()).isEqualTo(Checklist.Status.FAIL);
        assertThat(held.evidence()).isEqualTo("ECR scan COMPLETE: findings at or above HIGH {\"HIGH\":1} (each platform image: linux/amd64 "
                + "COMPLETE {}, linux/arm64 COMPLETE {\"HIGH\":1}); the image was quarantined, never approved");
    }

    @Test
    void aBuildRecordedBeforeMeasurementIsNotMeasuredNeverAssumed() {
        Checklist.Result r = Checklist.of(new Checklist.Input(3, "succeeded", "local", null, null, null, null,
                new EvidenceView.Status(false, null, List.of(), "not signed")));
        assertThat(r.items()).filteredOn(i -> !i.id().equals("scanned")).allMatch(i -> i.status() == Checklist.Status.NOT_MEASURED);
        assertThat(r.items().get(0).evidence()).isEqualTo("not measured: build 3 was recorded before Kiln measured the images it pushed");
    }

    @Test
    void ecrImmutabilityWithExclusionsPassesOnlyForATagNoWildcardCovers() {
        ImageTarget.Protection p = new ImageTarget.Protection("IMMUTABLE_WITH_EXCLUSION", List.of("latest", "dev-*"), "KMS",
                "arn:aws:kms:eu-west-1:1:key/k", "k");
        Inspection ok = new Inspection(Instant.EPOCH, List.of(), new Inspection.Target("ecr:x", "21-20260101.1", true, p));
        Inspection covered = new Inspection(Instant.EPOCH, List.of(), new Inspection.Target("ecr:x", "dev-7", true, p));
        assertThat(statuses(Checklist.of(new Checklist.Input(1, "succeeded", "ecr:x", DEFINITION, CONFIG, ok, null, UNSIGNED))))
                .containsEntry("immutable-tag", Checklist.Status.PASS).containsEntry("customer-key", Checklist.Status.PASS)
                .containsEntry("scanned", Checklist.Status.WARN);
        assertThat(statuses(Checklist.of(new Checklist.Input(1, "succeeded", "ecr:x", DEFINITION, CONFIG, covered, null, UNSIGNED))))
                .containsEntry("immutable-tag", Checklist.Status.FAIL);
    }

    /** Every recommendation an item cites is a heading of that seed document (numbering and markup aside). */
    @Test
    void everyRecommendationNamesASectionOfTheSeeds() throws IOException {
        Path seeds = Path.of("../shared/seeds");
        if (!Files.isDirectory(seeds)) {
            seeds = Path.of("/work/shared/seeds");
        }
        Assumptions.assumeTrue(Files.isDirectory(seeds), "shared/seeds beside the checkout");
        Checklist.Result r = Checklist.of(new Checklist.Input(1, "succeeded", "local", DEFINITION, CONFIG,
                new Inspection(Instant.EPOCH, List.of(), null), null, UNSIGNED));
        Set<String> missing = new TreeSet<>();
        for (Checklist.Item item : r.items()) {
            assertThat(item.recommendations()).as(item.id()).isNotEmpty();
            for (Checklist.Recommendation rec : item.recommendations()) {
                Set<String> headings = Files.readAllLines(seeds.resolve(rec.source())).stream().filter(l -> l.startsWith("#"))
                        .map(l -> l.replaceAll("<a name=[^>]*></a>", "").replace("\\", "").replaceFirst("^#+\\s*", "")
                                .replaceFirst("^[0-9]+\\.\\s+", "").replaceAll("\\s+", " ").strip())
                        .collect(Collectors.toSet());
                if (!headings.contains(rec.section())) {
                    missing.add(rec.source() + ": " + rec.section());
                }
            }
        }
        assertThat(missing).isEmpty();
    }
}
