package dev.kiln.cli;

import dev.kiln.KilnConfiguration;
import dev.kiln.database.Database;
import dev.kiln.history.History;
import dev.kiln.publish.Digests;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.PublishException;
import dev.kiln.publish.Target;
import dev.kiln.rebuild.BuildException;
import dev.kiln.rebuild.Reproducer;
import dev.kiln.sign.EvidenceVerifier;
import dev.kiln.sign.Keys;
import dev.kiln.sign.SignException;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/** {@code kiln verify}, {@code kiln key} and {@code kiln rebuild --verify}: the commands about an image's evidence. */
final class EvidenceCommands {

    private static final Map<String, String> COSIGN_TYPES = Map.of("https://slsa.dev/provenance/v1", "slsaprovenance1",
            "https://spdx.dev/Document", "spdxjson", "https://cyclonedx.org/bom", "cyclonedx");

    private final KilnConfiguration.Services services;
    private final java.util.function.Function<PrintStream, Database> database;

    /** @param database opens the history's database as the other commands do (migrated, its role checked) */
    EvidenceCommands(KilnConfiguration.Services services, java.util.function.Function<PrintStream, Database> database) {
        this.services = services;
        this.database = database;
    }

    /** Prints the signing key's public half (PEM, on stdout, as cosign reads it) and its id. */
    int key(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags();
        Optional<SigningKey> key = services.signingKey();
        if (key.isEmpty()) {
            err.println("kiln: no signing key configured (kiln.signing.key); images are published unsigned");
            return 1;
        }
        try {
            PublicKey pub = key.get().publicKey();
            out.print(Keys.pem(pub));
            err.println("key " + key.get().id() + " (ECDSA P-256, " + key.get().description() + ")");
            return 0;
        } catch (SignException e) {
            err.println("kiln: " + e.getMessage());
            return 1;
        }
    }

    /** Checks an image's signature and attestations on its target and prints what they prove. */
    int verify(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags();
        if (invocation.arguments().size() != 1) {
            throw new Invocation.UsageException("kiln verify: name one image, IMAGE@DIGEST (or IMAGE:TAG)");
        }
        Reference ref = Reference.parse(invocation.arguments().get(0));
        PublicKey key = publicKey(invocation.options().get("key"));
        ImageTarget target = ref.local() ? KilnConfiguration.imageTarget(Target.LOCAL, services.properties(), Clock.systemUTC())
                : ref.host() == null ? services.target()
                : KilnConfiguration.imageTarget(new Target.Registry(ref.host(), ""), services.properties(), Clock.systemUTC());
        String repository = ref.host() == null && !ref.local() ? target.repository(ref.repository()) : ref.repository();
        String digest;
        try {
            digest = ref.digest() != null ? ref.digest() : target.tagged(repository, ref.tag())
                    .orElseThrow(() -> new PublishException(target.reference(repository, ref.tag()) + ": no such tag"));
        } catch (PublishException e) {
            err.println("kiln: " + e.getMessage());
            return 1;
        }
        EvidenceVerifier.Report report;
        try {
            report = new EvidenceVerifier().verify(target, repository, digest, key);
        } catch (PublishException | SignException e) {
            err.println("kiln: " + e.getMessage());
            return 1;
        }
        List<String> problems = new ArrayList<>(report.problems());
        if (ref.tag() != null && ref.digest() == null && report.signatures().stream()
                .noneMatch(s -> ref.tag().equals(s.statement().annotations().get(Signer.TAG)))) {
            problems.add("the tag " + ref.tag() + " names " + digest + ", which Kiln signed for "
                    + report.signatures().stream().map(s -> s.statement().annotations().getOrDefault(Signer.TAG, "no tag")).distinct().toList()
                    + ": the tag was moved");
        }
        out.println(ref.name() + "@" + digest);
        for (EvidenceVerifier.Found s : report.signatures()) {
            Map<String, String> a = s.statement().annotations();
            out.printf(Locale.ROOT, "  signature     verified with key %s: stack %s, build %s, tag %s, Kiln %s%n", report.keyId(),
                    a.getOrDefault(Signer.STACK, "?"), a.getOrDefault(Signer.BUILD, "?"), a.getOrDefault(Signer.TAG, "?"),
                    a.getOrDefault(Signer.KILN_VERSION, "?"));
        }
        for (EvidenceVerifier.Found a : report.attestations()) {
            out.printf(Locale.ROOT, "  attestation   %s%s: %s%n", a.predicateType(),
                    COSIGN_TYPES.containsKey(a.predicateType()) ? " (" + COSIGN_TYPES.get(a.predicateType()) + ")" : "",
                    describe(a.predicateType(), a.statement().predicate()));
        }
        report.notes().forEach(n -> out.println("  note          " + n));
        if (!problems.isEmpty()) {
            problems.forEach(p -> err.println("kiln verify: " + p));
            out.println("NOT VERIFIED: " + problems.size() + " problem" + (problems.size() == 1 ? "" : "s"));
            return 1;
        }
        out.println("verified: a signature and " + report.attestations().size() + " attestation" + (report.attestations().size() == 1 ? "" : "s")
                + " by key " + report.keyId() + ", each about " + digest);
        return 0;
    }

    /** {@code kiln rebuild --verify BUILD}. */
    int rebuild(Invocation invocation, PrintStream out, PrintStream err) {
        invocation.allowFlags("verify");
        if (!invocation.flags().contains("verify") || invocation.arguments().size() != 1) {
            throw new Invocation.UsageException("kiln rebuild: usage: kiln rebuild --verify BUILD");
        }
        long build;
        try {
            build = Long.parseLong(invocation.arguments().get(0));
        } catch (NumberFormatException e) {
            throw new Invocation.UsageException("kiln rebuild --verify: BUILD is a build id (see 'kiln history'), got '" + invocation.arguments().get(0) + "'");
        }
        long start = System.nanoTime();
        try (Database database = this.database.apply(err)) {
            History history = new History(database.dataSource());
            Reproducer reproducer = KilnConfiguration.reproducer(services, history, Commands.cliInstance());
            Reproducer.Outcome o = reproducer.verify(build, "cli:" + System.getProperty("user.name"), step -> { });
            double seconds = (System.nanoTime() - start) / 1e9;
            switch (o.status()) {
                case "reproduced" -> {
                    out.printf(Locale.ROOT, "build %d: reproduced %s from its recorded inputs in a clean workspace (%.1f s)%n", build,
                            o.rebuiltDigest(), seconds);
                    out.println(o.attested() ? "  attested on the image: reproduced by " + Commands.cliInstance() + " at " + o.at()
                            : "  not attested: " + (services.signingKey().isEmpty() ? "no signing key" : o.detail()));
                    return 0;
                }
                case "refused" -> {
                    err.println("kiln rebuild: refused: " + o.detail());
                    return 1;
                }
                default -> {
                    err.println("kiln rebuild: build " + build + " " + (o.status().equals("differs") ? "NOT reproduced" : "rebuild failed")
                            + ": " + o.detail());
                    return 1;
                }
            }
        } catch (BuildException e) {
            err.println("kiln rebuild: " + e.getMessage());
            return 1;
        }
    }

    private PublicKey publicKey(String file) {
        if (file != null) {
            try {
                return Keys.publicKey(Files.readString(Path.of(file)), file);
            } catch (IOException e) {
                throw new Invocation.UsageException("--key " + file + ": cannot read (" + e.getMessage() + ")");
            } catch (SignException e) {
                throw new Invocation.UsageException(e.getMessage());
            }
        }
        return services.signingKey().map(SigningKey::publicKey).orElseThrow(() -> new Invocation.UsageException(
                "kiln verify: no key: pass --key PUB (a PEM public key, as 'kiln key' prints it) or configure kiln.signing.key"));
    }

    /** One line on what a verified predicate says, read from the standard fields of its type. */
    static String describe(String type, JsonNode p) {
        return switch (type) {
            case "https://slsa.dev/provenance/v1" -> {
                JsonNode run = p.path("runDetails");
                StringBuilder b = new StringBuilder("built by ").append(run.path("builder").path("id").asString("?"));
                if (run.path("builder").path("version").isObject()) {
                    b.append(" ").append(run.path("builder").path("version"));
                }
                b.append(", build ").append(run.path("metadata").path("invocationId").asString("?"))
                        .append(", ").append(run.path("metadata").path("startedOn").asString("?")).append(" to ")
                        .append(run.path("metadata").path("finishedOn").asString("?"))
                        .append("; type ").append(p.path("buildDefinition").path("buildType").asString("?"))
                        .append("; parameters ").append(p.path("buildDefinition").path("externalParameters"))
                        .append("; ").append(p.path("buildDefinition").path("resolvedDependencies").size()).append(" resolved dependencies");
                yield b.toString();
            }
            case "https://spdx.dev/Document" -> packages(p.path("packages"), "name", "versionInfo", "SPDX " + p.path("spdxVersion").asString("?"));
            case "https://cyclonedx.org/bom" -> packages(p.path("components"), "name", "version",
                    "CycloneDX " + p.path("specVersion").asString("?"));
            case Reproducer.PREDICATE -> (p.path("reproduced").asBoolean() ? "reproduced" : "NOT reproduced (rebuilt " + p.path("rebuilt").asString("?") + ")")
                    + " by " + p.path("reproducedBy").asString("?") + " at " + p.path("at").asString("?") + " with Kiln " + p.path("kilnVersion").asString("?");
            default -> abbreviate(p.toString(), 300);
        };
    }

    private static String packages(JsonNode list, String name, String version, String format) {
        List<String> names = new ArrayList<>();
        list.forEach(n -> names.add(n.path(name).asString("?") + (n.hasNonNull(version) ? " " + n.path(version).asString() : "")));
        return format + ", " + names.size() + " packages: " + abbreviate(String.join(", ", names), 2000);
    }

    private static String abbreviate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 1) + "…";
    }

    /** An image reference: {@code [HOST[:PORT]/]REPOSITORY(@DIGEST|:TAG)}, or {@code oci:store/REPOSITORY...} for the local store. */
    record Reference(String host, String repository, String tag, String digest, boolean local) {
        String name() {
            return local ? "oci:store/" + repository : host == null ? repository : host + "/" + repository;
        }

        static Reference parse(String text) {
            boolean local = text.startsWith("oci:store/");
            String rest = local ? text.substring("oci:store/".length()) : text;
            String digest = null;
            int at = rest.indexOf('@');
            if (at >= 0) {
                digest = rest.substring(at + 1);
                rest = rest.substring(0, at);
                if (!Digests.valid(digest)) {
                    throw new Invocation.UsageException("kiln verify: '" + digest + "' is not a sha256 digest");
                }
            }
            String tag = null;
            int colon = rest.lastIndexOf(':');
            if (digest == null && colon > rest.lastIndexOf('/')) {
                tag = rest.substring(colon + 1);
                rest = rest.substring(0, colon);
            }
            if (digest == null && tag == null) {
                throw new Invocation.UsageException("kiln verify: '" + text + "' names no digest or tag; use IMAGE@sha256:...");
            }
            String host = null;
            int slash = rest.indexOf('/');
            if (!local && slash > 0) {
                String first = rest.substring(0, slash);
                if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                    host = first;
                    rest = rest.substring(slash + 1);
                }
            }
            if (rest.isEmpty()) {
                throw new Invocation.UsageException("kiln verify: '" + text + "' names no repository");
            }
            return new Reference(host, rest, tag, digest, local);
        }
    }
}
