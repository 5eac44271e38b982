package dev.kiln;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.Configuration;

/**
 * The dependency direction, checked on the compiled classes with ArchUnit: the front ends (api,
 * schedule, cli) use the pipeline (rebuild) and the capabilities; the pipeline uses the capabilities;
 * no capability reaches back up or into the root configuration. jib is used only in publish, the AWS SDK
 * only in the two AWS adapters (ecr, and kms for signing keys held in AWS KMS), and the pipeline and
 * retirement reach targets only through the image-target port, never ECR by name, and signing keys only
 * through the signing-key port, never KMS by name.
 */
class ArchitectureTest {

    private static final String[] FRONT_ENDS = {"dev.kiln.api..", "dev.kiln.schedule..", "dev.kiln.cli..", "dev.kiln.console.."};
    private static final String[] CAPABILITIES = {"dev.kiln.catalog..", "dev.kiln.debian..", "dev.kiln.image..", "dev.kiln.publish..",
            "dev.kiln.history..", "dev.kiln.database..", "dev.kiln.ecr..", "dev.kiln.retire..", "dev.kiln.evidence..",
            "dev.kiln.compliance..", "dev.kiln.webhook..", "dev.kiln.sign..", "dev.kiln.kms.."};

    private static final JavaClasses KILN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.kiln");

    @Test
    void capabilitiesNeverDependOnThePipelineTheFrontEndsOrTheRootConfiguration() {
        noClasses().that().resideInAnyPackage(CAPABILITIES)
                .should().dependOnClassesThat().resideInAnyPackage(FRONT_ENDS)
                .orShould().dependOnClassesThat().resideInAPackage("dev.kiln.rebuild..")
                .orShould().dependOnClassesThat().belongToAnyOf(KilnConfiguration.class, KilnApplication.class)
                .check(KILN);
    }

    @Test
    void onlyWiringReadsTheSettingsRecord() {
        noClasses().that().resideInAnyPackage(CAPABILITIES).and().areNotAnnotatedWith(Configuration.class)
                .should().dependOnClassesThat().belongToAnyOf(KilnProperties.class)
                .check(KILN);
    }

    @Test
    void thePipelineNeverDependsOnTheFrontEnds() {
        noClasses().that().resideInAPackage("dev.kiln.rebuild..")
                .should().dependOnClassesThat().resideInAnyPackage(FRONT_ENDS)
                .check(KILN);
    }

    @Test
    void jibIsUsedOnlyInPublishAndTheAwsSdkOnlyInTheAwsAdapters() {
        noClasses().that().resideOutsideOfPackage("dev.kiln.publish..")
                .should().dependOnClassesThat().resideInAPackage("com.google.cloud.tools.jib..")
                .check(KILN);
        // a second AWS package, deliberately: KMS signing keys are not ECR's business, and ECR's adapter
        // should not grow a signing side; each adapter keeps its SDK client to itself
        noClasses().that().resideOutsideOfPackages("dev.kiln.ecr..", "dev.kiln.kms..")
                .should().dependOnClassesThat().resideInAPackage("software.amazon.awssdk..")
                .check(KILN);
    }

    @Test
    void theSbomLibrariesAreUsedOnlyInEvidence() {
        noClasses().that().resideOutsideOfPackage("dev.kiln.evidence..")
                .should().dependOnClassesThat().resideInAnyPackage("org.spdx..", "org.cyclonedx..").check(KILN);
    }

    @Test
    void thePipelineAndRetirementReachTargetsOnlyThroughThePort() {
        noClasses().that().resideInAnyPackage("dev.kiln.rebuild..", "dev.kiln.retire..", "dev.kiln.schedule..", "dev.kiln.api..",
                        "dev.kiln.console..", "dev.kiln.compliance..")
                .should().dependOnClassesThat().resideInAPackage("dev.kiln.ecr..")
                .orShould().dependOnClassesThat().resideInAPackage("dev.kiln.kms..")
                .orShould().dependOnClassesThat().belongToAnyOf(dev.kiln.publish.LocalLayoutTarget.class, dev.kiln.publish.RegistryTarget.class)
                .check(KILN);
    }
}
