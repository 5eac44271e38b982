package dev.kiln.api;

import dev.kiln.KilnConfiguration;
import dev.kiln.history.History;
import dev.kiln.sign.Keys;
import dev.kiln.sign.SignException;
import dev.kiln.sign.SigningKey;
import dev.kiln.sign.SigstoreBundle;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * What proves a build: the signing key, and each build's signature and attestations as attached (SBOMs,
 * SLSA provenance, rebuild record, reproductions), served from the history so they outlive the image.
 * The public key is open to anyone (policy engines fetch it); the rest needs a user, like every read.
 */
@RestController
@RequestMapping("/api")
@Tag(name = "evidence", description = "The signing key, and each build's signature, SBOMs, provenance and reproductions")
class BuildEvidenceApi {

    static final String PEM = "application/x-pem-file";
    private static final Map<String, String> DOCUMENTS = Map.of("sbom/spdx", "https://spdx.dev/Document", "sbom/cyclonedx",
            "https://cyclonedx.org/bom", "provenance", "https://slsa.dev/provenance/v1");

    private final History history;
    private final KilnConfiguration.Services services;

    BuildEvidenceApi(History history, KilnConfiguration.Services services) {
        this.history = history;
        this.services = services;
    }

    record SigningView(boolean signing, String keyId, String algorithm, String key, String publicKey) {
    }

    record EvidenceView(String predicateType, String cosignType, String artifactDigest, String bundleDigest, String predicateDigest,
                        String keyId, String bundle) {
    }

    @GetMapping(value = "/signing/key", produces = {PEM, MediaType.TEXT_PLAIN_VALUE})
    @Operation(summary = "The public key images are signed with (PEM), for 'cosign verify --key' and policy engines; open to anyone")
    ResponseEntity<String> publicKey() {
        SigningKey key = key();
        return ResponseEntity.ok().contentType(MediaType.parseMediaType(PEM)).header("Kiln-Key-Id", key.id()).body(Keys.pem(key.publicKey()));
    }

    @GetMapping("/signing")
    @Operation(summary = "Whether builds are signed, and with which key")
    SigningView signing() {
        if (services.signingKey().isEmpty()) {
            return new SigningView(false, null, null, null, null);
        }
        SigningKey key = key();
        return new SigningView(true, key.id(), "ECDSA P-256 SHA-256", key.description(), Keys.pem(key.publicKey()));
    }

    @GetMapping("/builds/{id}/evidence")
    @Operation(summary = "A build's signature and attestations as attached: predicate types, digests, key; each bundle's own address")
    List<EvidenceView> evidence(@PathVariable long id) {
        requireBuild(id);
        return history.evidence(id).stream().map(e -> new EvidenceView(e.predicateType(), e.cosignType(), e.artifactDigest(),
                e.bundleDigest(), e.predicateDigest(), e.keyId(), "/api/builds/" + id + "/bundles/" + e.bundleDigest())).toList();
    }

    @GetMapping(value = "/builds/{id}/bundles/{digest}", produces = "application/vnd.dev.sigstore.bundle.v0.3+json")
    @Operation(summary = "One Sigstore bundle of a build, byte for byte as attached (cosign verify-blob-attestation --bundle checks it offline)")
    ResponseEntity<byte[]> bundle(@PathVariable long id, @PathVariable String digest) {
        History.Evidence e = history.evidence(requireBuild(id)).stream().filter(x -> x.bundleDigest().equals(digest)).findFirst()
                .orElseThrow(() -> ApiException.notFound("no-such-bundle", "build " + id + " has no bundle " + digest));
        return ResponseEntity.ok().contentType(MediaType.parseMediaType(SigstoreBundle.MEDIA_TYPE)).body(e.bundle());
    }

    @GetMapping(value = "/builds/{id}/sbom/spdx", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "The build's SPDX 2.3 SBOM, as signed")
    ResponseEntity<String> spdx(@PathVariable long id) {
        return document(id, "sbom/spdx");
    }

    @GetMapping(value = "/builds/{id}/sbom/cyclonedx", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "The build's CycloneDX 1.6 SBOM, as signed")
    ResponseEntity<String> cyclonedx(@PathVariable long id) {
        return document(id, "sbom/cyclonedx");
    }

    @GetMapping(value = "/builds/{id}/provenance", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "The build's SLSA Provenance v1 predicate, as signed")
    ResponseEntity<String> provenance(@PathVariable long id) {
        return document(id, "provenance");
    }

    @GetMapping("/builds/{id}/reproductions")
    @Operation(summary = "The independent rebuilds of a build ('kiln rebuild --verify'): who, when, with which outcome")
    List<History.Reproduction> reproductions(@PathVariable long id) {
        return history.reproductions(requireBuild(id));
    }

    private ResponseEntity<String> document(long id, String kind) {
        String type = DOCUMENTS.get(kind);
        History.Build build = history.build(id).orElseThrow(() -> ApiException.notFound("no-such-build", "no build " + id));
        History.Evidence e = history.evidence(id).stream().filter(x -> x.predicateType().equals(type)).reduce((a, b) -> b)
                .orElseThrow(() -> ApiException.notFound("no-evidence", "build " + id + " has no " + type + " attestation"
                        + (build.signed() ? "" : " (it is unsigned: no kiln.signing.key when it ran)")));
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).header("Kiln-Bundle", e.bundleDigest())
                .body(SigstoreBundle.recordedStatement(e.bundle()).path("predicate").toString());
    }

    private long requireBuild(long id) {
        history.build(id).orElseThrow(() -> ApiException.notFound("no-such-build", "no build " + id));
        return id;
    }

    private SigningKey key() {
        SigningKey key = services.signingKey().orElseThrow(() -> ApiException.notFound("no-signing-key",
                "no signing key is configured (kiln.signing.key): images are published unsigned"));
        try {
            key.publicKey();
            return key;
        } catch (SignException e) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "signing-key-unavailable", e.getMessage(), List.of());
        }
    }
}
