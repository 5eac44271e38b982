package dev.kiln.launch;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which commands run in a second JVM with a class archive, on what command line, and when the recording is kept. */
class ClassDataSharingTest {

    private static final String JAVA = "/usr/lib/jvm/jdk/bin/java";

    @TempDir
    Path dir;

    @Test
    void aOneShotCommandRunsOnTheUnpackedClassPathWithTheUsersJvmOptionsAndRecordsItsArchiveOnce() throws Exception {
        List<Path> classPath = List.of(dir.resolve("classes.jar"), dir.resolve("lib/a.jar"));
        ClassDataSharing.Plan first = ClassDataSharing.plan(dir, classPath, List.of("build", "java", "--catalog", "c"), Map.of(),
                jvm("-Xmx256m", "-Dx=y", "-jar", "/opt/kiln.jar", "build", "java", "--catalog", "c")).orElseThrow();
        List<String> command = first.command();
        assertThat(command.subList(0, 3)).containsExactly(JAVA, "-Xmx256m", "-Dx=y");
        assertThat(first.recording().getParent()).isEqualTo(dir.resolve("cds"));
        assertThat(command).contains("-XX:ArchiveClassesAtExit=" + first.recording(), "-Xlog:cds*=off",
                "-D" + ClassDataSharing.PARENT + "=" + ProcessHandle.current().pid());
        assertThat(command.subList(command.indexOf("-cp"), command.size())).containsExactly("-cp",
                dir.resolve("classes.jar") + java.io.File.pathSeparator + dir.resolve("lib/a.jar"), Launcher.class.getName(),
                "build", "java", "--catalog", "c");
        assertThat(first.archive().getFileName().toString()).startsWith("build-").endsWith(".jsa");

        // a failed run keeps nothing; a successful one's recording becomes the archive the next run reads
        Files.writeString(first.recording(), "archive");
        ClassDataSharing.keep(first, 1);
        assertThat(first.recording()).doesNotExist();
        assertThat(first.archive()).doesNotExist();
        Files.writeString(first.recording(), "archive");
        ClassDataSharing.keep(first, 0);
        assertThat(first.archive()).hasContent("archive");
        ClassDataSharing.Plan second = ClassDataSharing.plan(dir, classPath, List.of("rebuild", "java"), Map.of(),
                jvm("-jar", "/opt/kiln.jar", "rebuild", "java")).orElseThrow();
        assertThat(second.recording()).isNull();
        assertThat(second.command()).contains("-XX:SharedArchiveFile=" + first.archive())
                .noneMatch(o -> o.startsWith("-XX:ArchiveClassesAtExit"));

        // lock and validate share one archive, history and the others another; a help text records none
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("validate"), Map.of(), jvm("-jar", "k.jar", "validate")).orElseThrow()
                .archive().getFileName().toString()).startsWith("lock-");
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("history"), Map.of(), jvm("-jar", "k.jar", "history")).orElseThrow()
                .archive().getFileName().toString()).startsWith("other-");
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("lock", "--help"), Map.of(), jvm("-jar", "k.jar", "lock", "--help"))
                .orElseThrow().recording()).isNull();
    }

    @Test
    void aRecordingAbandonedByAKilledRunGoesAfterAnHour() throws Exception {
        ClassDataSharing.Plan plan = ClassDataSharing.plan(dir, List.of(dir.resolve("classes.jar")), List.of("lock", "java"), Map.of(),
                jvm("-jar", "k.jar", "lock", "java")).orElseThrow();
        Path old = Files.writeString(dir.resolve("cds/lock-x.1.recording"), "old");
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.from(Instant.now().minus(Duration.ofHours(2))));
        Path recent = Files.writeString(dir.resolve("cds/lock-x.2.recording"), "recent");
        ClassDataSharing.keep(plan, 0);
        assertThat(old).doesNotExist();
        assertThat(recent).exists();
    }

    @Test
    void theServiceAndRunsThatManageSharingOrDebugRunInThisJvm() {
        List<Path> classPath = List.of(dir.resolve("classes.jar"));
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("serve"), Map.of(), jvm("-jar", "k.jar", "serve"))).isEmpty();
        assertThat(ClassDataSharing.plan(dir, classPath, List.of(), Map.of(), jvm("-jar", "k.jar"))).as("serve, by default").isEmpty();
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("build"), Map.of("KILN_CDS", "false"), jvm("-jar", "k.jar", "build")))
                .isEmpty();
        for (String option : List.of("-XX:SharedArchiveFile=/a.jsa", "-Xshare:off", "-agentlib:jdwp=transport=dt_socket", "-javaagent:a.jar")) {
            assertThat(ClassDataSharing.plan(dir, classPath, List.of("build"), Map.of(), jvm(option, "-jar", "k.jar", "build"))).as(option)
                    .isEmpty();
        }
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("build"), Map.of("JAVA_TOOL_OPTIONS", "-agentlib:jdwp=server=y"),
                jvm("-jar", "k.jar", "build"))).isEmpty();
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("build"), Map.of(), jvm("-cp", "k.jar", "dev.kiln.launch.Launcher", "build")))
                .as("not started with -jar: the options cannot be told from the arguments").isEmpty();
        assertThat(ClassDataSharing.plan(dir, classPath, List.of("build"), Map.of(), new Info(Optional.empty(), Optional.empty()))).isEmpty();
    }

    private static ProcessHandle.Info jvm(String... arguments) {
        return new Info(Optional.of(JAVA), Optional.of(arguments));
    }

    private record Info(Optional<String> command, Optional<String[]> arguments) implements ProcessHandle.Info {
        @Override
        public Optional<String> commandLine() {
            return Optional.empty();
        }

        @Override
        public Optional<Instant> startInstant() {
            return Optional.empty();
        }

        @Override
        public Optional<Duration> totalCpuDuration() {
            return Optional.empty();
        }

        @Override
        public Optional<String> user() {
            return Optional.empty();
        }
    }
}
