package dev.kiln.evidence;

import dev.kiln.image.Composition;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.spdx.core.InvalidSPDXAnalysisException;
import org.spdx.jacksonstore.MultiFormatStore;
import org.spdx.library.LicenseInfoFactory;
import org.spdx.library.ModelCopyManager;
import org.spdx.library.model.v2.Checksum;
import org.spdx.library.model.v2.ReferenceType;
import org.spdx.library.model.v2.SpdxConstantsCompatV2;
import org.spdx.library.model.v2.SpdxDocument;
import org.spdx.library.model.v2.SpdxElement;
import org.spdx.library.model.v2.SpdxFile;
import org.spdx.library.model.v2.SpdxPackage;
import org.spdx.library.model.v2.enumerations.ChecksumAlgorithm;
import org.spdx.library.model.v2.enumerations.Purpose;
import org.spdx.library.model.v2.enumerations.ReferenceCategory;
import org.spdx.library.model.v2.enumerations.RelationshipType;
import org.spdx.library.model.v2.license.AnyLicenseInfo;
import org.spdx.storage.simple.InMemSpdxStore;

/**
 * The image as an SPDX 2.3 document, built with the SPDX project's Java library and written by its JSON
 * store. The document DESCRIBES the image (a CONTAINER package named by repository and digest), which
 * CONTAINS each Debian package and each file Kiln made; each package CONTAINS its files (SHA-1 and
 * SHA-256, as syft lists them); a file Kiln made is GENERATED_FROM the packages it was made from.
 * Symlinks are not SPDX files (they have no content to hash) and are left out.
 */
final class SpdxWriter {

    private static final DateTimeFormatter SPDX_DATE = DateTimeFormatter.ISO_INSTANT;

    private SpdxWriter() {
    }

    static byte[] write(BuildFacts facts, Inventory inventory) {
        Libraries.load();
        String namespace = namespace(facts);
        InMemSpdxStore base = new InMemSpdxStore();
        MultiFormatStore store = new MultiFormatStore(base, MultiFormatStore.Format.JSON_PRETTY);
        ModelCopyManager copies = new ModelCopyManager();
        try {
            SpdxDocument doc = new SpdxDocument(store, namespace, copies, true);
            doc.setSpecVersion("SPDX-2.3");
            doc.setName(facts.repository() + "@" + facts.digest());
            doc.setDataLicense(LicenseInfoFactory.parseSPDXLicenseStringCompatV2("CC0-1.0", store, namespace, copies));
            doc.setCreationInfo(doc.createCreationInfo(List.of("Tool: kiln-" + facts.kilnVersion(), "Organization: Kiln (instance "
                    + facts.instance() + ")"), date(facts.finished())));
            doc.getCreationInfo().setComment("Kiln build " + facts.buildId() + " of stack " + facts.stackName() + ", from the lock "
                    + facts.lock().digest() + "; files are listed with the digests of their bytes in the image.");
            for (Map.Entry<String, String> ref : inventory.licenceRefs.entrySet()) {
                doc.addExtractedLicenseInfos(doc.createExtractedLicense(ref.getKey(), ref.getValue()));
            }
            AnyLicenseInfo noAssertion = LicenseInfoFactory.parseSPDXLicenseStringCompatV2("NOASSERTION", store, namespace, copies);
            Map<String, AnyLicenseInfo> parsed = new HashMap<>();

            SpdxPackage image = doc.createPackage("SPDXRef-Image", facts.repository(), noAssertion, "NOASSERTION", noAssertion)
                    .setVersionInfo(facts.digest())
                    .setDownloadLocation("NOASSERTION")
                    // the image's own files are the ones Kiln made; the packages' files are the packages'
                    .setFilesAnalyzed(true)
                    .setPackageVerificationCode(doc.createPackageVerificationCode(verificationCode(inventory.kilnFiles.stream()
                            .map(k -> k.entry().sha1()).filter(java.util.Objects::nonNull).toList()), List.of()))
                    .setPrimaryPurpose(Purpose.CONTAINER)
                    .setSupplier("Organization: " + facts.stack().owner().replace('(', '[').replace(')', ']'))
                    .setDescription(facts.stack().description())
                    .setComment("Stack " + facts.stackName() + " version " + facts.stack().version() + (facts.tag() == null ? ""
                            : ", published as " + facts.repository() + ":" + facts.tag()) + "; built by Kiln " + facts.kilnVersion() + ".")
                    .addChecksum(doc.createChecksum(ChecksumAlgorithm.SHA256, facts.digest().substring("sha256:".length())))
                    .addExternalRef(doc.createExternalRef(ReferenceCategory.PACKAGE_MANAGER, purlType(), inventory.imagePurl.canonicalize(), null))
                    .build();
            doc.getDocumentDescribes().add(image);

            Map<String, SpdxPackage> packages = new HashMap<>();
            Map<String, String> ids = new HashMap<>();
            for (Inventory.Deb deb : inventory.debs) {
                Composition.Package p = deb.pkg();
                AnyLicenseInfo declared = deb.licence().expression() == null ? noAssertion : parsed.computeIfAbsent(deb.licence().expression(),
                        e -> parse(e, store, namespace, copies));
                List<SpdxFile> files = new ArrayList<>();
                List<String> sha1s = new ArrayList<>();
                for (Composition.FileEntry f : p.entries()) {
                    if (f.symlink() || f.sha1() == null) {
                        continue;
                    }
                    files.add(file(doc, p.name(), f, noAssertion, null));
                    sha1s.add(f.sha1());
                }
                SpdxPackage.SpdxPackageBuilder builder = doc.createPackage(packageId(p.name(), ids), p.name(), noAssertion,
                                deb.licence().copyright() == null ? "NOASSERTION" : deb.licence().copyright(), declared)
                        .setVersionInfo(p.version())
                        .setDownloadLocation(downloadable(deb.locked().url()) ? deb.locked().url() : "NOASSERTION")
                        .setPackageFileName(deb.locked().url().substring(deb.locked().url().lastIndexOf('/') + 1))
                        .addChecksum(doc.createChecksum(ChecksumAlgorithm.SHA256, p.sha256()))
                        .setSourceInfo("built from Debian source package " + p.source() + " " + p.sourceVersion())
                        .setLicenseComments(deb.licence().comment())
                        .setComment("architecture " + p.architecture() + "; in layer " + p.layer()
                                + (downloadable(deb.locked().url()) ? "" : "; downloaded from " + deb.locked().url()))
                        .addExternalRef(doc.createExternalRef(ReferenceCategory.PACKAGE_MANAGER, purlType(), deb.purl().canonicalize(), null))
                        .setFilesAnalyzed(!files.isEmpty());
                if (deb.supplier() != null) {
                    builder.setSupplier(deb.supplier().spdx());
                }
                if (p.homepage() != null && !p.homepage().isBlank()) {
                    builder.setHomepage(p.homepage());
                }
                if (!files.isEmpty()) {
                    builder.setPackageVerificationCode(doc.createPackageVerificationCode(verificationCode(sha1s), List.of()));
                }
                SpdxPackage pkg = builder.build();
                for (SpdxFile file : files) {
                    pkg.addRelationship(doc.createRelationship(file, RelationshipType.CONTAINS, null));
                }
                image.addRelationship(doc.createRelationship(pkg, RelationshipType.CONTAINS, null));
                packages.put(p.name(), pkg);
            }
            for (Inventory.KilnFile k : inventory.kilnFiles) {
                if (k.entry().symlink() || k.entry().sha1() == null) {
                    continue;
                }
                SpdxFile file = file(doc, "", k.entry(), noAssertion, "Kiln " + facts.kilnVersion());
                file.setComment("Made by Kiln, not shipped by any package: " + k.what() + ".");
                image.addRelationship(doc.createRelationship(file, RelationshipType.CONTAINS, null));
                for (String from : k.madeFrom()) {
                    SpdxElement source = packages.get(from);
                    if (source != null) {
                        file.addRelationship(doc.createRelationship(source, RelationshipType.GENERATED_FROM, null));
                    }
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
            store.serialize(out);
            return out.toByteArray();
        } catch (InvalidSPDXAnalysisException | IOException e) {
            throw new EvidenceException(facts.stackName() + ": cannot write the SPDX document: " + e.getMessage(), e);
        } finally {
            try {
                store.close();
            } catch (Exception e) {
                // an in-memory store holds nothing to release
            }
        }
    }

    /** A file of {@code owner} (a package's name; empty for Kiln's): its id hashes both, as two packages may ship one path. */
    private static SpdxFile file(SpdxDocument doc, String owner, Composition.FileEntry f, AnyLicenseInfo noAssertion, String contributor)
            throws InvalidSPDXAnalysisException {
        String id = "SPDXRef-File-" + Inventory.sha256(owner + "\0" + f.path()).substring(0, 20);
        SpdxFile.SpdxFileBuilder builder = doc.createSpdxFile(id, "." + f.path(),
                        noAssertion, List.of(), "NOASSERTION", doc.createChecksum(ChecksumAlgorithm.SHA1, f.sha1()))
                .addChecksum(doc.createChecksum(ChecksumAlgorithm.SHA256, f.sha256()));
        if (contributor != null) {
            builder.addFileContributor(contributor);
        }
        return builder.build();
    }

    /** SPDXRef-Package-deb-NAME, with a suffix when NAME had characters an SPDX id cannot hold ({@code libstdc++6}). */
    private static String packageId(String name, Map<String, String> used) {
        String safe = name.replaceAll("[^A-Za-z0-9.-]", "-");
        String id = "SPDXRef-Package-deb-" + safe + (safe.equals(name) ? "" : "-" + Inventory.sha256(name).substring(0, 8));
        used.put(id, name);
        return id;
    }

    /** SPDX 2.3 section 7.9: SHA-1 over the sorted SHA-1s of the package's files. */
    static String verificationCode(List<String> sha1s) {
        List<String> sorted = new ArrayList<>(sha1s);
        sorted.sort(null);
        try {
            java.security.MessageDigest sha1 = java.security.MessageDigest.getInstance("SHA-1");
            sorted.forEach(s -> sha1.update(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            return java.util.HexFormat.of().formatHex(sha1.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static AnyLicenseInfo parse(String expression, MultiFormatStore store, String namespace, ModelCopyManager copies) {
        try {
            return LicenseInfoFactory.parseSPDXLicenseStringCompatV2(expression, store, namespace, copies);
        } catch (InvalidSPDXAnalysisException e) {
            throw new EvidenceException("licence expression '" + expression + "': " + e.getMessage(), e);
        }
    }

    /**
     * SPDX 2.3 takes only URLs on a host name with a top-level domain as a download location; an archive on
     * an IP address or a bare host name (a local mirror) is named in the package's comment instead.
     */
    private static boolean downloadable(String url) {
        return SpdxConstantsCompatV2.DOWNLOAD_LOCATION_PATTERN.matcher(url).matches();
    }

    private static ReferenceType purlType() throws InvalidSPDXAnalysisException {
        return new ReferenceType(SpdxConstantsCompatV2.SPDX_LISTED_REFERENCE_TYPES_PREFIX + "purl");
    }

    /** Unique per build, stable for it: Kiln's namespace, the repository, the digest and the build. */
    static String namespace(BuildFacts facts) {
        return "https://kiln.dev/spdx/" + facts.repository().replaceAll("[^A-Za-z0-9._/-]", "-") + "/" + facts.digest().replace(':', '-')
                + "/build-" + facts.buildId();
    }

    private static String date(Instant instant) {
        return SPDX_DATE.format(instant.truncatedTo(ChronoUnit.SECONDS));
    }
}
