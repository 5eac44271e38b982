package dev.kiln.history;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;

/**
 * What a build made, as measured and generated, beside its row (V11): the stack definition it was made
 * from, the image config as pushed, the inspection of its layers (each layer measured once, by digest)
 * and the documents generated for it (kept gzip-compressed, with the SHA-256 of the document itself).
 */
public final class BuildRecords {

    private final JdbcClient jdbc;

    public BuildRecords(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** The stack definition (canonical JSON) a build is made from. */
    public void definition(long build, String canonicalJson) {
        jdbc.sql("UPDATE build SET stack_definition = ? WHERE id = ?").params(canonicalJson, build).update();
    }

    /** The image config as pushed and the measurement of the image. */
    public void measured(long build, Object imageConfig, Object inspection) {
        jdbc.sql("UPDATE build SET image_config = ?::jsonb, inspection = ?::jsonb WHERE id = ?")
                .params(History.json(imageConfig), History.json(inspection), build).update();
    }

    /** A layer measured before, by any build. */
    public Optional<JsonNode> layer(String digest) {
        return jdbc.sql("SELECT result::text FROM layer_inspection WHERE digest = ?").param(digest).query(String.class).optional()
                .map(History::node);
    }

    public void layerMeasured(String digest, Object result) {
        jdbc.sql("INSERT INTO layer_inspection (digest, result) VALUES (?, ?::jsonb) ON CONFLICT (digest) DO NOTHING")
                .params(digest, History.json(result)).update();
    }

    /** What a build recorded beside its summary: definition, config, inspection, the scan gate's evidence. */
    public record Measured(String stackDefinition, JsonNode imageConfig, JsonNode inspection, JsonNode scan) {
    }

    public Measured measured(long build) {
        return jdbc.sql("SELECT stack_definition, image_config::text AS c, inspection::text AS i, scan::text AS s FROM build WHERE id = ?")
                .param(build)
                .query((rs, n) -> new Measured(rs.getString("stack_definition"), History.node(rs.getString("c")),
                        History.node(rs.getString("i")), History.node(rs.getString("s"))))
                .optional().orElse(new Measured(null, null, null, null));
    }

    // ---- generated documents -------------------------------------------------------------------

    /** A document's facts; {@code sha256} is {@code sha256:HEX} of the document as generated. */
    public record Document(String kind, String predicateType, String sha256, long size) {
    }

    public void document(long build, String kind, String predicateType, String sha256, byte[] json) {
        jdbc.sql("""
                        INSERT INTO build_document (build_id, kind, predicate_type, sha256, size, content) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (build_id, kind) DO NOTHING""")
                .params(build, kind, predicateType, sha256, json.length, gzip(json)).update();
    }

    public List<Document> documents(long build) {
        return jdbc.sql("SELECT kind, predicate_type, sha256, size FROM build_document WHERE build_id = ? ORDER BY kind").param(build)
                .query((rs, n) -> new Document(rs.getString("kind"), rs.getString("predicate_type"), rs.getString("sha256"), rs.getLong("size")))
                .list();
    }

    public Optional<byte[]> content(long build, String kind) {
        return jdbc.sql("SELECT content FROM build_document WHERE build_id = ? AND kind = ?").params(build, kind)
                .query((rs, n) -> gunzip(rs.getBytes(1))).optional();
    }

    private static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length / 6 + 64);
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] bytes) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
