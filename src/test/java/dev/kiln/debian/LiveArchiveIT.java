package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Stack;
import dev.kiln.rebuild.StackLocker;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opt-in ({@code ./mvnw verify -Plive}): locks the example catalog against the live Debian archive. */
@Tag("live")
class LiveArchiveIT {

    @TempDir
    Path data;

    @Test
    void everyExampleStackLocksAgainstTheLiveArchive() {
        Catalog catalog = Catalog.load(Path.of("catalog"));
        StackLocker locker = new StackLocker(new DebianArchive(HttpClient.newHttpClient(), data, Map.of(), Clock.systemUTC()), new PackageResolver());
        for (Stack stack : catalog.stacks()) {
            StackLocker.Outcome outcome = locker.resolve(catalog, stack);
            assertThat(outcome.problems()).as(stack.name()).isEmpty();
            assertThat(outcome.lock().packages()).as(stack.name()).isNotEmpty()
                    .allSatisfy(p -> assertThat(p.sha256()).matches("[0-9a-f]{64}"));
            assertThat(outcome.lock().packages()).extracting(Lock.Package::name).containsAll(
                    stack.packages().stream().map(r -> Relation.parse(r).name()).toList());
        }
    }
}
