package dev.kiln.launch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Class data sharing for one-shot commands: what {@code -XX:+AutoCreateSharedArchive} does on its own
 * from Java 19, for the Java 17 Kiln runs on. A command runs in a second JVM, on the unpacked class path,
 * with an archive of the classes an earlier run of the same kind of command loaded (parsed, verified and
 * laid out once instead of in every run). Measured on a warm {@code kiln build java}: 2.59 s against
 * 3.28 s (docs/benchmarks.md). The first run of each kind per jar and JDK records the archive as it exits
 * (a second or two, once); a run that fails keeps nothing, so the next one records it.
 *
 * <p>Not for {@code serve}: a service starts once, and a supervisor's signals (a SIGKILL included) must
 * reach the JVM that serves. Not when the JVM's options already manage sharing or attach an agent (a
 * debugger would get two JVMs), nor with {@code KILN_CDS=false}. The first JVM only waits: it passes
 * SIGTERM on, its exit code is the command's, and the second exits when the first is killed.
 */
final class ClassDataSharing {

    /** The first JVM's pid, given to the second. */
    static final String PARENT = "kiln.launcher.parent";
    /** Command → the archive it shares: a build's classes are most of Kiln; lock and validate read the archive only. */
    private static final Map<String, String> KINDS = Map.of("build", "build", "rebuild", "build", "lock", "lock", "validate", "lock",
            "history", "other", "retire", "other", "audit", "other", "verify", "other", "key", "other");
    /** JVM options under which a second JVM would be wrong or useless: the user's own sharing, agents, debuggers. */
    private static final List<String> MANAGED = List.of("SharedArchiveFile", "ArchiveClassesAtExit", "Xshare", "AutoCreateSharedArchive",
            "agentlib", "agentpath", "javaagent", "jdwp", "Xdebug", "Xrun");
    private static final Set<String> OPTION_VARIABLES = Set.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS");
    /** A recording left by a run that was killed: gone after an hour. */
    private static final long ABANDONED = 3_600_000L;

    /** The second JVM's command line; {@code recording} is where it writes the archive when there is none yet. */
    record Plan(List<String> command, Path archive, Path recording) {
        Plan {
            command = List.copyOf(command);
        }
    }

    private ClassDataSharing() {
    }

    /** How to run {@code args} in a second JVM with an archive; empty when it should run in this one. */
    static Optional<Plan> plan(Path dir, List<Path> classPath, List<String> args, Map<String, String> env, ProcessHandle.Info self) {
        if ("false".equals(env.get("KILN_CDS")) || args.contains("serve")) {
            return Optional.empty();
        }
        String kind = args.stream().filter(KINDS::containsKey).findFirst().map(KINDS::get).orElse(null);
        String vm = System.getProperty("java.vm.name", "");
        if (kind == null || self.command().isEmpty() || self.arguments().isEmpty() || !(vm.contains("HotSpot") || vm.contains("OpenJDK"))) {
            return Optional.empty();
        }
        List<String> jvmArguments = Arrays.asList(self.arguments().get());
        int jar = jvmArguments.indexOf("-jar");
        if (jar < 0) {
            return Optional.empty();
        }
        List<String> options = jvmArguments.subList(0, jar);
        String inherited = env.entrySet().stream().filter(e -> OPTION_VARIABLES.contains(e.getKey())).map(Map.Entry::getValue)
                .collect(Collectors.joining(" "));
        if (MANAGED.stream().anyMatch(m -> inherited.contains(m) || options.stream().anyMatch(o -> o.contains(m)))) {
            return Optional.empty();
        }
        Path cds = dir.resolve("cds");
        String name = kind + "-" + jvm();
        Path archive = cds.resolve(name + ".jsa");
        List<String> command = new ArrayList<>();
        command.add(self.command().get());
        command.addAll(options);
        Path recording = null;
        if (Files.isRegularFile(archive)) {
            command.add("-XX:SharedArchiveFile=" + archive);
        } else if (!args.contains("--help") && !args.contains("-h") && writable(cds)) {
            // a help text loads a few classes: an archive of those would stand for the command's for good
            recording = cds.resolve(name + "." + ProcessHandle.current().pid() + ".recording");
            command.add("-XX:ArchiveClassesAtExit=" + recording);
        }
        // an archive that does not fit this JVM is skipped without a word; recording warns about classes it leaves out
        command.add("-Xlog:cds*=off");
        command.add("-D" + PARENT + "=" + ProcessHandle.current().pid());
        command.add("-cp");
        command.add(classPath.stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator)));
        command.add(Launcher.class.getName());
        command.addAll(args);
        return Optional.of(new Plan(command, archive, recording));
    }

    /** Runs the plan and keeps what it recorded; its exit code, or empty when the second JVM could not start. */
    static OptionalInt run(Plan plan) {
        Process child;
        try {
            child = new ProcessBuilder(plan.command()).inheritIO().start();
        } catch (IOException e) {
            return OptionalInt.empty();
        }
        // a SIGTERM or SIGINT here ends the command there too (a terminal's SIGINT reaches both), and this JVM
        // exits only after it: whoever waits for this process waits for the command
        Thread passOn = new Thread(() -> {
            child.destroy();
            try {
                child.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "kiln:pass-on");
        Runtime.getRuntime().addShutdownHook(passOn);
        int code;
        while (true) {
            try {
                code = child.waitFor();
                break;
            } catch (InterruptedException e) {
                // nothing interrupts main but a shutdown, which the hook handles
            }
        }
        keep(plan, code);
        return OptionalInt.of(code);
    }

    /** The recording becomes the archive when the command succeeded; other runs' recordings left by a kill go after an hour. */
    static void keep(Plan plan, int code) {
        if (plan.recording() == null) {
            return;
        }
        try {
            if (code == 0 && Files.isRegularFile(plan.recording()) && Files.size(plan.recording()) > 0) {
                Files.move(plan.recording(), plan.archive(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.deleteIfExists(plan.recording());
            }
            try (DirectoryStream<Path> left = Files.newDirectoryStream(plan.recording().getParent(), "*.recording")) {
                for (Path p : left) {
                    if (Files.getLastModifiedTime(p).toMillis() < System.currentTimeMillis() - ABANDONED) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        } catch (IOException e) {
            // a cache only: the next run records again
        }
    }

    /** In the second JVM: exit when the first is gone (killed), as the one process the user started would have. */
    static void exitWithParent(String pid) {
        Optional<ProcessHandle> parent;
        try {
            parent = ProcessHandle.of(Long.parseLong(pid));
        } catch (NumberFormatException e) {
            return;
        }
        if (parent.isEmpty()) {
            System.exit(143);
        }
        parent.get().onExit().thenRun(() -> new Thread(() -> System.exit(143), "kiln:parent-gone").start());
    }

    /** The JDK an archive belongs to: an archive is valid only for the JVM build that wrote it. */
    private static String jvm() {
        try {
            byte[] id = (System.getProperty("java.home") + '\0' + System.getProperty("java.vm.version")).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(id), 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean writable(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.isWritable(dir);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
