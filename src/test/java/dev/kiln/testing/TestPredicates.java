package dev.kiln.testing;

import dev.kiln.sign.Claim;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Small but real predicates of each kind Kiln attests, for the signing tests (the real ones come from
 * dev.kiln.evidence): an SLSA Provenance v1, an SPDX 2.3 document, a CycloneDX 1.6 BOM and a Kiln
 * rebuild record. Each is valid for its schema; the signing code treats them as opaque JSON.
 */
public final class TestPredicates {

    public static final String SLSA = "https://slsa.dev/provenance/v1";
    public static final String SPDX = "https://spdx.dev/Document";
    public static final String CYCLONEDX = "https://cyclonedx.org/bom";
    public static final String REBUILD_RECORD = "https://kiln.dev/rebuild-record/v1";

    private TestPredicates() {
    }

    /** The four kinds, made from what a build knows (its packages in the SBOMs, its id and inputs in the provenance). */
    public static List<Claim> of(dev.kiln.rebuild.Attestations.Facts facts) {
        StringBuilder deps = new StringBuilder();
        StringBuilder spdx = new StringBuilder();
        StringBuilder cdx = new StringBuilder();
        for (dev.kiln.debian.Lock.Package p : facts.lock().packages()) {
            deps.append(deps.isEmpty() ? "" : ",").append("{\"uri\":\"").append(p.url()).append("\",\"digest\":{\"sha256\":\"")
                    .append(p.sha256()).append("\"}}");
        }
        for (dev.kiln.image.Composition.Package p : facts.composition().packages()) {
            spdx.append(spdx.isEmpty() ? "" : ",").append("{\"name\":\"").append(p.name()).append("\",\"SPDXID\":\"SPDXRef-Package-")
                    .append(p.name()).append("\",\"versionInfo\":\"").append(p.version()).append("\",\"downloadLocation\":\"NOASSERTION\"}");
            cdx.append(cdx.isEmpty() ? "" : ",").append("{\"type\":\"library\",\"name\":\"").append(p.name()).append("\",\"version\":\"")
                    .append(p.version()).append("\"}");
        }
        return List.of(
                claim(SLSA, "slsaprovenance1", """
                        {"buildDefinition":{"buildType":"https://kiln.dev/build/v1","externalParameters":{"stack":"%s","stackDigest":"%s"},
                         "resolvedDependencies":[%s]},
                         "runDetails":{"builder":{"id":"https://kiln.dev/instance/%s","version":{"kiln":"%s"}},
                         "metadata":{"invocationId":"%d","startedOn":"%s","finishedOn":"%s"}}}
                        """.formatted(facts.stack().name(), facts.stackDigest(), deps, facts.instance(), facts.kilnVersion(), facts.build(),
                        facts.startedAt(), facts.finishedAt())),
                claim(SPDX, "spdxjson", """
                        {"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"%s",
                         "documentNamespace":"https://kiln.dev/spdx/%s/%d","creationInfo":{"created":"%s","creators":["Tool: kiln-test"]},
                         "packages":[%s]}
                        """.formatted(facts.stack().name(), facts.stack().name(), facts.build(), facts.finishedAt(), spdx)),
                claim(CYCLONEDX, "cyclonedx", """
                        {"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[%s]}
                        """.formatted(cdx)),
                claim(REBUILD_RECORD, REBUILD_RECORD, """
                        {"build":%d,"trigger":"%s","by":"%s","packageChanges":%d,"checks":["elf-links"]}
                        """.formatted(facts.build(), facts.trigger(), facts.who(),
                        facts.lock().changesSince(facts.previousLock()).size())));
    }

    public static List<Claim> all(String stack, long build) {
        return List.of(slsa(stack, build), spdx(stack), cyclonedx(), rebuildRecord(build));
    }

    public static Claim slsa(String stack, long build) {
        return claim(SLSA, "slsaprovenance1", """
                {"buildDefinition":{"buildType":"https://kiln.dev/build/v1","externalParameters":{"stack":"%s","catalogCommit":"0123abc"},
                 "resolvedDependencies":[{"uri":"http://deb.example/pool/b/base-files_13.8_amd64.deb","digest":{"sha256":"%s"}}]},
                 "runDetails":{"builder":{"id":"https://kiln.dev/instance/test","version":{"kiln":"test"}},
                 "metadata":{"invocationId":"%d","startedOn":"2026-12-01T10:00:00Z","finishedOn":"2026-12-01T10:00:05Z"}}}
                """.formatted(stack, "ab".repeat(32), build));
    }

    public static Claim spdx(String stack) {
        return claim(SPDX, "spdxjson", """
                {"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"%s",
                 "documentNamespace":"https://kiln.dev/spdx/test/%s","creationInfo":{"created":"2026-12-01T10:00:05Z","creators":["Tool: kiln-test"]},
                 "packages":[{"name":"base-files","SPDXID":"SPDXRef-Package-base-files","versionInfo":"13.8","downloadLocation":"NOASSERTION"}]}
                """.formatted(stack, stack));
    }

    public static Claim cyclonedx() {
        return claim(CYCLONEDX, "cyclonedx", """
                {"bomFormat":"CycloneDX","specVersion":"1.6","version":1,
                 "components":[{"type":"library","name":"base-files","version":"13.8","purl":"pkg:deb/debian/base-files@13.8?arch=amd64&distro=debian-13"}]}
                """);
    }

    public static Claim rebuildRecord(long build) {
        return claim(REBUILD_RECORD, REBUILD_RECORD, """
                {"build":%d,"trigger":"manual","by":"cli:test","packageChanges":[],"checks":["elf-links"]}
                """.formatted(build));
    }

    private static Claim claim(String type, String cosignType, String json) {
        return new Claim(type, cosignType, json.getBytes(StandardCharsets.UTF_8));
    }
}
