package dev.kiln.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.KilnApplication;
import dev.kiln.cli.KilnCommandLine;
import dev.kiln.ecr.MotoServer;
import dev.kiln.publish.BlobLocations;
import dev.kiln.publish.Manifest;
import dev.kiln.publish.RegistryLogin;
import dev.kiln.publish.RegistryTarget;
import dev.kiln.sign.EvidenceVerifier;
import dev.kiln.sign.Keys;
import dev.kiln.sign.SignException;
import dev.kiln.sign.Signer;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestPredicates;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.TinyImage;
import dev.kiln.testing.Tools;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.MessageType;
import software.amazon.awssdk.services.kms.model.SignRequest;

/**
 * Signing with a key held in AWS KMS, against moto's KMS (ECC_NIST_P256, ECDSA_SHA_256 Sign and
 * GetPublicKey): {@code kiln key} prints the key KMS holds, and what Kiln signs through the Sign API real
 * cosign verifies with it. moto 5.2.5 ignores Sign's MessageType (it always hashes what it gets), so the
 * DIGEST form Kiln uses for messages over 4096 bytes (an SBOM statement) is checked here by its request
 * only; real KMS signs that digest as is.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AwsKmsSigningIT {

    private Path tmp;
    private MotoServer moto;
    private KmsClient kms;
    private TestRegistry registry;
    private final List<SignRequest> signRequests = new ArrayList<>();

    @BeforeAll
    void start(@TempDir Path dir) {
        tmp = dir;
        moto = new MotoServer(dir);
        registry = new TestRegistry(dir);
        kms = KmsClient.builder().endpointOverride(URI.create(moto.endpoint())).region(Region.EU_CENTRAL_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .overrideConfiguration(c -> c.addExecutionInterceptor(new ExecutionInterceptor() {
                    @Override
                    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                        if (context.request() instanceof SignRequest sign) {
                            signRequests.add(sign);
                        }
                    }
                })).build();
        String keyId = kms.createKey(r -> r.keySpec(KeySpec.ECC_NIST_P256).keyUsage(KeyUsageType.SIGN_VERIFY)).keyMetadata().keyId();
        kms.createAlias(r -> r.aliasName("alias/kiln").targetKeyId(keyId));
        kms.createKey(r -> r.keySpec(KeySpec.RSA_2048).keyUsage(KeyUsageType.SIGN_VERIFY).description("rsa"));
        String rsa = kms.listKeys().keys().stream().map(k -> k.keyId()).filter(id -> !id.equals(keyId)).findFirst().orElseThrow();
        kms.createAlias(r -> r.aliasName("alias/rsa").targetKeyId(rsa));
        System.setProperty("aws.accessKeyId", "test");
        System.setProperty("aws.secretAccessKey", "test");
    }

    @AfterAll
    void stop() {
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
        Resources.close(registry, kms, moto);
    }

    @Test
    void kilnKeyPrintsTheKeyKmsHoldsAndCosignVerifiesWhatKmsSigned() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = KilnCommandLine.run(KilnApplication.class, new String[] {"key", "--data-dir", tmp.resolve("data").toString(),
                "--kiln.signing.key=awskms:///alias/kiln", "--kiln.signing.kms-endpoint=" + moto.endpoint(), "--kiln.signing.kms-region=eu-central-1"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(exit).as(err.toString(StandardCharsets.UTF_8)).isZero();
        byte[] der = kms.getPublicKey(r -> r.keyId("alias/kiln")).publicKey().asByteArray();
        String pem = out.toString(StandardCharsets.UTF_8);
        assertThat(Keys.publicKey(pem, "kiln key").getEncoded()).isEqualTo(der);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("(ECDSA P-256, awskms:///alias/kiln)");
        Path pub = Files.writeString(tmp.resolve("kms.pub"), pem);

        AwsKmsSigningKey key = new AwsKmsSigningKey(kms, "awskms:///alias/kiln", "alias/kiln");
        RegistryTarget target = new RegistryTarget(registry.address(), registry.address(), "", true, RegistryLogin.NONE, BlobLocations.none());
        Manifest image = TinyImage.of("signed in KMS");
        target.push("kms/app", image, List.of("1"));
        List<Signer.Signed> signed = new Signer(key, Clock.systemUTC()).sign(registry.address() + "/kms/app", image.descriptor(),
                List.of(TestPredicates.rebuildRecord(1)), Map.of(Signer.STACK, "app"));
        signed.forEach(s -> target.attach("kms/app", s.artifact()));
        assertThat(signRequests).hasSize(2).allSatisfy(r -> {
            assertThat(r.messageType()).isEqualTo(MessageType.RAW);
            assertThat(r.signingAlgorithmAsString()).isEqualTo("ECDSA_SHA_256");
        });

        String ref = registry.address() + "/kms/app@" + image.digest();
        Tools.Run verify = Tools.cosign("verify", "--allow-http-registry", "--insecure-ignore-tlog", "--key", pub.toString(), ref);
        assertThat(verify.ok()).as(verify.output()).isTrue();
        Tools.Run attestation = Tools.cosign("verify-attestation", "--allow-http-registry", "--insecure-ignore-tlog", "--key", pub.toString(),
                "--type", TestPredicates.REBUILD_RECORD, ref);
        assertThat(attestation.ok()).as(attestation.output()).isTrue();
        assertThat(new EvidenceVerifier().verify(target, "kms/app", image.digest(), key.publicKey()).problems()).isEmpty();
    }

    @Test
    void aMessageOverKmsRawLimitIsSentAsItsSha256Digest() throws Exception {
        signRequests.clear();
        AwsKmsSigningKey key = new AwsKmsSigningKey(kms, "awskms:///alias/kiln", "alias/kiln");
        byte[] large = "x".repeat(AwsKmsSigningKey.MAX_RAW + 1).getBytes(StandardCharsets.US_ASCII);
        try {
            key.sign(large);
        } catch (SignException e) {
            // moto 5.2.5 hashes a DIGEST message once more, so Kiln's check of the answer refuses it; real KMS signs it as is
            assertThat(e).hasMessage("awskms:///alias/kiln: KMS returned a signature (DIGEST message) that its public key does not verify");
        }
        key.sign(new byte[AwsKmsSigningKey.MAX_RAW]);
        assertThat(signRequests).hasSize(2);
        assertThat(signRequests.get(0).messageType()).isEqualTo(MessageType.DIGEST);
        assertThat(signRequests.get(0).message().asByteArray()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(large));
        assertThat(signRequests.get(1).messageType()).isEqualTo(MessageType.RAW);
        assertThat(signRequests.get(1).message().asByteArray()).hasSize(AwsKmsSigningKey.MAX_RAW);
    }

    @Test
    void aKeyKilnCannotSignWithIsRefusedSayingWhy() {
        assertThatThrownBy(() -> new AwsKmsSigningKey(kms, "awskms:///alias/rsa", "alias/rsa").publicKey()).isInstanceOf(SignException.class)
                .hasMessage("awskms:///alias/rsa: a RSA_2048 key for SIGN_VERIFY; Kiln signs with an ECC_NIST_P256 SIGN_VERIFY key (ECDSA_SHA_256)");
        assertThatThrownBy(() -> new AwsKmsSigningKey(kms, "awskms:///alias/missing", "alias/missing").publicKey())
                .isInstanceOf(SignException.class).hasMessageStartingWith("awskms:///alias/missing: KMS GetPublicKey failed: ");
        assertThatThrownBy(() -> AwsKmsSigningKey.of("awskms://", null, null)).hasMessageContaining("expected awskms:///alias/NAME");
    }
}
