package dev.kiln.evidence;

import dev.kiln.image.Composition;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import org.cyclonedx.Version;
import org.cyclonedx.exception.GeneratorException;
import org.cyclonedx.generators.BomGeneratorFactory;
import org.cyclonedx.model.Bom;
import org.cyclonedx.model.BomReference;
import org.cyclonedx.model.Component;
import org.cyclonedx.model.ExternalReference;
import org.cyclonedx.model.Hash;
import org.cyclonedx.model.LicenseChoice;
import org.cyclonedx.model.Metadata;
import org.cyclonedx.model.OrganizationalContact;
import org.cyclonedx.model.OrganizationalEntity;
import org.cyclonedx.model.Property;
import org.cyclonedx.model.license.Acknowledgement;
import org.cyclonedx.model.license.Expression;
import org.cyclonedx.model.metadata.ToolInformation;

/**
 * The image as a CycloneDX 1.6 BOM, built with the CycloneDX project's Java library. The metadata's
 * component is the image (a container named by repository, versioned by digest); each Debian package is a
 * library component (purl as its bom-ref, the .deb's SHA-256 as its hash and on its distribution
 * reference) with its files as nested file components; each file Kiln made is a top-level file
 * component manufactured by Kiln. A composition marks the inventory complete: every file of the image
 * is a package's or Kiln's.
 */
final class CycloneDxWriter {

    private CycloneDxWriter() {
    }

    static byte[] write(BuildFacts facts, Inventory inventory) {
        Bom bom = new Bom();
        bom.setSerialNumber("urn:uuid:" + UUID.nameUUIDFromBytes(SpdxWriter.namespace(facts).getBytes(StandardCharsets.UTF_8)));
        bom.setVersion(1);

        Component image = new Component();
        image.setType(Component.Type.CONTAINER);
        image.setBomRef(inventory.imagePurl.canonicalize());
        image.setName(facts.repository());
        image.setVersion(facts.digest());
        image.setDescription(facts.stack().description());
        image.setPurl(inventory.imagePurl.canonicalize());
        image.setHashes(List.of(new Hash(Hash.Algorithm.SHA_256, facts.digest().substring("sha256:".length()))));
        image.setSupplier(entity(facts.stack().owner(), facts.stack().owner().contains("@") ? facts.stack().owner() : null));
        List<Property> imageProperties = new ArrayList<>(List.of(new Property("kiln:stack", facts.stackName()),
                new Property("kiln:stack:version", facts.stack().version()), new Property("kiln:stack:digest", facts.lock().stackDigest()),
                new Property("kiln:lock:digest", facts.lock().digest()), new Property("kiln:build", Long.toString(facts.buildId()))));
        if (facts.tag() != null) {
            imageProperties.add(new Property("kiln:tag", facts.tag()));
        }
        image.setProperties(imageProperties);

        Component kiln = new Component();
        kiln.setType(Component.Type.APPLICATION);
        kiln.setName("kiln");
        kiln.setVersion(facts.kilnVersion());
        ToolInformation tools = new ToolInformation();
        tools.setComponents(List.of(kiln));
        Metadata metadata = new Metadata();
        metadata.setTimestamp(Date.from(facts.finished()));
        metadata.setToolChoice(tools);
        metadata.setComponent(image);
        bom.setMetadata(metadata);

        List<Component> components = new ArrayList<>();
        for (Inventory.Deb deb : inventory.debs) {
            Composition.Package p = deb.pkg();
            Component c = new Component();
            c.setType(Component.Type.LIBRARY);
            c.setBomRef(deb.purl().canonicalize());
            c.setName(p.name());
            c.setVersion(p.version());
            c.setPurl(deb.purl().canonicalize());
            if (deb.supplier() != null) {
                c.setSupplier(entity(deb.supplier().name(), deb.supplier().email()));
            }
            c.setHashes(List.of(new Hash(Hash.Algorithm.SHA_256, p.sha256())));
            if (deb.licence().expression() != null) {
                Expression expression = new Expression(deb.licence().expression());
                expression.setAcknowledgement(Acknowledgement.DECLARED);
                LicenseChoice licences = new LicenseChoice();
                licences.setExpression(expression);
                c.setLicenses(licences);
            }
            if (deb.licence().copyright() != null) {
                c.setCopyright(deb.licence().copyright());
            }
            ExternalReference distribution = new ExternalReference();
            distribution.setType(ExternalReference.Type.DISTRIBUTION);
            distribution.setUrl(deb.locked().url());
            distribution.setHashes(List.of(new Hash(Hash.Algorithm.SHA_256, p.sha256())));
            List<ExternalReference> references = new ArrayList<>(List.of(distribution));
            if (p.homepage() != null && !p.homepage().isBlank()) {
                ExternalReference website = new ExternalReference();
                website.setType(ExternalReference.Type.WEBSITE);
                website.setUrl(p.homepage());
                references.add(website);
            }
            c.setExternalReferences(references);
            c.setProperties(List.of(new Property("kiln:deb:architecture", p.architecture()), new Property("kiln:deb:source", p.source()),
                    new Property("kiln:deb:source:version", p.sourceVersion()), new Property("kiln:layer", p.layer()),
                    new Property("kiln:licence:origin", deb.licence().comment())));
            List<Component> files = new ArrayList<>();
            for (Composition.FileEntry f : p.entries()) {
                files.add(file(p.name(), f));
            }
            if (!files.isEmpty()) {
                c.setComponents(files);
            }
            components.add(c);
        }
        OrganizationalEntity kilnMade = entity("Kiln", null);
        for (Inventory.KilnFile k : inventory.kilnFiles) {
            Component c = file("kiln", k.entry());
            c.setManufacturer(kilnMade);
            c.setDescription("Made by Kiln, not shipped by any package: " + k.what());
            List<Property> properties = new ArrayList<>(c.getProperties() == null ? List.of() : c.getProperties());
            k.madeFrom().forEach(from -> properties.add(new Property("kiln:madeFrom", from)));
            if (!properties.isEmpty()) {
                c.setProperties(properties);
            }
            components.add(c);
        }
        bom.setComponents(components);

        org.cyclonedx.model.Composition complete = new org.cyclonedx.model.Composition();
        complete.setAggregate(org.cyclonedx.model.Composition.Aggregate.COMPLETE);
        complete.setAssemblies(List.of(new BomReference(image.getBomRef())));
        bom.setCompositions(List.of(complete));
        try {
            return BomGeneratorFactory.createJson(Version.VERSION_16, bom).toJsonString(true).getBytes(StandardCharsets.UTF_8);
        } catch (GeneratorException e) {
            throw new EvidenceException(facts.stackName() + ": cannot write the CycloneDX BOM: " + e.getMessage(), e);
        }
    }

    /** A file as a component: its path as name; digests, or a symlink's target as a property. */
    private static Component file(String owner, Composition.FileEntry f) {
        Component c = new Component();
        c.setType(Component.Type.FILE);
        c.setBomRef("file:" + owner + ":" + f.path());
        c.setName(f.path());
        if (f.symlink()) {
            c.setProperties(new ArrayList<>(List.of(new Property("kiln:file:symlink", f.link()))));
        } else if (f.sha1() != null) {
            c.setHashes(List.of(new Hash(Hash.Algorithm.SHA1, f.sha1()), new Hash(Hash.Algorithm.SHA_256, f.sha256())));
        }
        return c;
    }

    private static OrganizationalEntity entity(String name, String email) {
        OrganizationalEntity entity = new OrganizationalEntity();
        entity.setName(name);
        if (email != null) {
            OrganizationalContact contact = new OrganizationalContact();
            contact.setName(name);
            contact.setEmail(email);
            entity.setContacts(List.of(contact));
        }
        return entity;
    }
}
