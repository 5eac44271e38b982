package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;

import dev.kiln.KilnConfiguration;
import dev.kiln.KilnProperties;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.publish.Descriptor;
import dev.kiln.publish.Manifest;
import dev.kiln.sign.Claim;
import dev.kiln.sign.Keys;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestPredicates;
import dev.kiln.testing.TinyImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The evidence API over a real history (the embedded PostgreSQL): a build recorded with its signature
 * and four attestations (small real predicates, signed), one recorded unsigned. The SBOMs and the
 * provenance come back exactly as signed, each bundle byte for byte.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BuildEvidenceApiIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Database database;
    private History history;
    private MockMvc api;
    private MockMvc unsignedApi;
    private SigningKey key;
    private long signed;
    private long unsigned;
    private List<Signer.Signed> evidence;

    @BeforeAll
    void setUp(@TempDir Path dir) {
        database = Database.open(new Database.Settings(null, null, null), dir.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "kiln.key"), dir);
        KilnConfiguration.Services services = KilnConfiguration.services(properties(dir, dir.resolve("kiln.key").toString()), Clock.systemUTC());
        key = services.signingKey().orElseThrow();
        api = MockMvcBuilders.standaloneSetup(new BuildEvidenceApi(history, services)).setControllerAdvice(new Problems()).build();
        unsignedApi = MockMvcBuilders.standaloneSetup(new BuildEvidenceApi(history, KilnConfiguration.services(properties(dir, null), Clock.systemUTC())))
                .setControllerAdvice(new Problems()).build();

        Manifest image = TinyImage.of("api");
        evidence = new Signer(key, Clock.systemUTC()).sign("registry.example/golden/app", image.descriptor(), TestPredicates.all("app", 1),
                Map.of(Signer.STACK, "app"));
        signed = record(image.descriptor(), new History.Signing(key.id(), evidence.stream().map(s -> new History.Evidence(s.predicateType(),
                s.claim().cosignType(), s.artifact().digest(), s.bundleDigest(), s.predicateDigest(), key.id(), s.bundle())).toList()));
        unsigned = record(TinyImage.of("unsigned").descriptor(), null);
    }

    @AfterAll
    void tearDown() {
        Resources.close(database);
    }

    @Test
    void servesTheSbomsAndProvenanceExactlyAsSigned() throws Exception {
        for (Map.Entry<String, Claim> e : Map.of("sbom/spdx", TestPredicates.spdx("app"), "sbom/cyclonedx", TestPredicates.cyclonedx(),
                "provenance", TestPredicates.slsa("app", 1)).entrySet()) {
            MockHttpServletResponse r = api.perform(get("/api/builds/" + signed + "/" + e.getKey())).andReturn().getResponse();
            assertThat(r.getStatus()).as(e.getKey()).isEqualTo(200);
            assertThat(JSON.readTree(r.getContentAsString())).isEqualTo(JSON.readTree(e.getValue().json()));
            Signer.Signed s = evidence.stream().filter(x -> x.predicateType().equals(e.getValue().predicateType())).findFirst().orElseThrow();
            assertThat(r.getHeader("Kiln-Bundle")).isEqualTo(s.bundleDigest());
        }
    }

    @Test
    void listsTheEvidenceAndServesEachBundleByteForByte() throws Exception {
        JsonNode list = JSON.readTree(api.perform(get("/api/builds/" + signed + "/evidence")).andReturn().getResponse().getContentAsString());
        assertThat(list.findValuesAsString("predicateType")).containsExactly(TestPredicates.SLSA, TestPredicates.SPDX, TestPredicates.CYCLONEDX,
                TestPredicates.REBUILD_RECORD, Claim.COSIGN_SIGN);
        assertThat(list.findValuesAsString("cosignType")).contains("slsaprovenance1", "spdxjson", "cyclonedx");
        for (Signer.Signed s : evidence) {
            MockHttpServletResponse r = api.perform(get("/api/builds/" + signed + "/bundles/" + s.bundleDigest())).andReturn().getResponse();
            assertThat(r.getStatus()).isEqualTo(200);
            assertThat(r.getContentType()).isEqualTo("application/vnd.dev.sigstore.bundle.v0.3+json");
            assertThat(r.getContentAsByteArray()).isEqualTo(s.bundle());
        }
        assertThat(api.perform(get("/api/builds/" + signed + "/bundles/sha256:" + "0".repeat(64))).andReturn().getResponse().getStatus())
                .isEqualTo(404);
    }

    @Test
    void anUnsignedBuildHasNoEvidenceAndSaysWhy() throws Exception {
        MockHttpServletResponse r = api.perform(get("/api/builds/" + unsigned + "/sbom/spdx")).andReturn().getResponse();
        assertThat(r.getStatus()).isEqualTo(404);
        assertThat(JSON.readTree(r.getContentAsString()).path("detail").asString()).isEqualTo("build " + unsigned
                + " has no https://spdx.dev/Document attestation (it is unsigned: no kiln.signing.key when it ran)");
        assertThat(api.perform(get("/api/builds/" + unsigned + "/evidence")).andReturn().getResponse().getContentAsString()).isEqualTo("[]");
        assertThat(api.perform(get("/api/builds/424242/evidence")).andReturn().getResponse().getStatus()).isEqualTo(404);
    }

    @Test
    void servesThePublicKeyOrSaysThereIsNone() throws Exception {
        MockHttpServletResponse r = api.perform(get("/api/signing/key")).andReturn().getResponse();
        assertThat(r.getStatus()).isEqualTo(200);
        assertThat(r.getContentAsString()).isEqualTo(Keys.pem(key.publicKey()));
        assertThat(r.getHeader("Kiln-Key-Id")).isEqualTo(key.id());
        assertThat(JSON.readTree(api.perform(get("/api/signing")).andReturn().getResponse().getContentAsString()).path("keyId").asString())
                .isEqualTo(key.id());

        MockHttpServletResponse none = unsignedApi.perform(get("/api/signing/key")).andReturn().getResponse();
        assertThat(none.getStatus()).isEqualTo(404);
        assertThat(none.getContentAsString(StandardCharsets.UTF_8)).contains("no signing key is configured (kiln.signing.key)");
        assertThat(JSON.readTree(unsignedApi.perform(get("/api/signing")).andReturn().getResponse().getContentAsString()).path("signing")
                .asBoolean()).isFalse();
    }

    private long record(Descriptor image, History.Signing signing) {
        long id = history.open(new History.Request("app", "manual", "test", null, "test", null), true, "test").id();
        history.resolved(id, new History.Inputs("sha256:f" + id, "sha256:s", "sha256:l", "{}", "registry.example", "golden/app"));
        history.succeeded(id, new History.Published(image.digest(), "registry.example/golden/app:" + id, Long.toString(id), false, 1, 1, List.of(),
                1, Map.of(), List.of(), null, false, null), signing);
        return id;
    }

    private static KilnProperties properties(Path dir, String key) {
        return new KilnProperties(dir.resolve("catalog"), dir.resolve("data"), null, null, null, null, null, null, null, null,
                new KilnProperties.Signing(key, null, null, null));
    }
}
