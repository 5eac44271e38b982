package dev.kiln.ecr;

import dev.kiln.publish.BlobLocations;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.ImageTargetContract;
import dev.kiln.publish.Target;
import dev.kiln.testing.TestRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ecr.EcrClient;
import software.amazon.awssdk.services.ecr.model.ImageNotFoundException;

/**
 * The ECR adapter through the same contract, on ECR made of two real parts: moto serves the ECR API,
 * Debian's docker-registry holds the images, {@link EcrRegistryBridge} records every pushed manifest in
 * moto. What ECR itself records (images, deletes) is asked of the ECR API, as Kiln's ECR adapter does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EcrTargetIT extends ImageTargetContract {

    private MotoServer moto;
    private EcrClient client;
    private TestRegistry registry;
    private EcrRegistryBridge bridge;
    private EcrTarget target;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        moto = new MotoServer(dir);
        client = moto.client().build();
        registry = new TestRegistry(dir);
        bridge = new EcrRegistryBridge(registry.address(), client);
        Ecr api = new Ecr(client, new Ecr.Settings(List.of(), true, null, java.util.Map.of(), bridge.address()), Clock.systemUTC());
        target = new EcrTarget(api, new Target.Ecr(""), Set.of(), new BlobLocations(dir.resolve("registry-blobs")), null, Duration.ofSeconds(5));
    }

    @AfterAll
    void stop() {
        bridge.close();
        registry.close();
        moto.close();
    }

    @Override
    protected boolean knowsPushTimes() {
        return true;
    }

    @Override
    protected ImageTarget target() {
        return target;
    }

    @Override
    protected String newRepository() {
        String repository = super.newRepository();
        target.prepare(repository);
        return repository;
    }

    @Override
    protected boolean recorded(String repository, String digest) {
        try {
            return !client.describeImages(r -> r.repositoryName(repository).imageIds(i -> i.imageDigest(digest))).imageDetails().isEmpty();
        } catch (ImageNotFoundException e) {
            return false;
        }
    }
}
