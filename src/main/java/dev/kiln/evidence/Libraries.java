package dev.kiln.evidence;

import java.io.ByteArrayOutputStream;
import org.cyclonedx.Version;
import org.cyclonedx.generators.BomGeneratorFactory;
import org.cyclonedx.model.Bom;
import org.spdx.jacksonstore.MultiFormatStore;
import org.spdx.library.LicenseInfoFactory;
import org.spdx.library.ModelCopyManager;
import org.spdx.library.SpdxModelFactory;
import org.spdx.library.model.v2.SpdxDocument;
import org.spdx.storage.simple.InMemSpdxStore;

/**
 * The SBOM libraries' one-time costs in a JVM: the SPDX model registry, the SPDX licence list (from the
 * library's jar), and the classes both writers use, loaded by writing one empty document of each kind.
 * Class initialization makes this run once however many threads ask; they wait for it.
 */
final class Libraries {

    static {
        SpdxModelFactory.init();
        LicenseInfoFactory.listedLicenseIdCaseSensitive("MIT");
        DebianCopyright.read("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n");
        try {
            MultiFormatStore store = new MultiFormatStore(new InMemSpdxStore(), MultiFormatStore.Format.JSON_PRETTY);
            SpdxDocument doc = new SpdxDocument(store, "https://kiln.dev/spdx/warm-up", new ModelCopyManager(), true);
            doc.setSpecVersion("SPDX-2.3");
            doc.setName("warm-up");
            store.serialize(new ByteArrayOutputStream());
            BomGeneratorFactory.createJson(Version.VERSION_16, new Bom()).toJsonString(true);
        } catch (Exception e) {
            // a warm-up only: the real document reports what is wrong
        }
    }

    private Libraries() {
    }

    static void load() {
        // the static initializer is the work
    }
}
