package dev.kiln.image;

import dev.kiln.catalog.Stack;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The checks an image must pass before any tag points at it: non-root user, no setuid/setgid file, no
 * shell unless the stack keeps them, root-owned and not group/other-writable, an entrypoint that
 * exists and can run, and every ELF file's interpreter and DT_NEEDED libraries present. Each problem
 * names the file and the missing piece.
 */
final class Verifier {

    private static final Map<String, String> TRIPLETS = Map.of("amd64", "x86_64-linux-gnu", "arm64", "aarch64-linux-gnu",
            "armhf", "arm-linux-gnueabihf", "i386", "i386-linux-gnu", "ppc64el", "powerpc64le-linux-gnu",
            "s390x", "s390x-linux-gnu", "riscv64", "riscv64-linux-gnu");
    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** {@code checks}: every check that ran, in words; all of them passed when {@code problems} is empty. */
    record Result(List<String> problems, int elfFiles, int librariesResolved, List<String> checks) {
    }

    private Verifier() {
    }

    static Result verify(Rootfs fs, Stack stack) {
        List<String> problems = new ArrayList<>();
        if (stack.user().uid() == 0) {
            problems.add("user: runs as root (uid 0); images must run as a non-root user");
        }
        String home = "home/" + stack.user().name();
        for (Item item : fs.items()) {
            String path = "/" + item.path();
            boolean sticky = item.type() == Item.Type.DIRECTORY && Hardening.STICKY_DIRS.contains(item.path());
            if (item.type() != Item.Type.SYMLINK) {
                if ((item.mode() & 06000) != 0 && stack.hardening().stripSetuid()) {
                    problems.add(path + ": setuid/setgid bit (mode " + Hardening.octal(item.mode()) + ")");
                }
                if ((item.mode() & 022) != 0 && !sticky) {
                    problems.add(path + ": writable by group or others (mode " + Hardening.octal(item.mode()) + ")");
                }
                if ((item.uid() != 0 || item.gid() != 0) && !item.path().equals(home)) {
                    problems.add(path + ": owned by " + item.uid() + ":" + item.gid() + ", not root");
                }
            }
            if (item.type() != Item.Type.DIRECTORY && stack.hardening().removeShells() && Hardening.isShell(item.path())) {
                problems.add(path + ": a shell, but the stack sets hardening.removeShells");
            }
            if (item.type() != Item.Type.DIRECTORY && stack.hardening().removePackageManagers() && Hardening.isPackageManager(item.path())) {
                problems.add(path + ": a package manager, but the stack sets hardening.removePackageManagers");
            }
        }
        checkEntrypoint(fs, stack, problems);
        int[] counts = checkLibraries(fs, stack, problems);
        List<String> checks = new ArrayList<>();
        checks.add("runs as " + stack.user().name() + " (uid " + stack.user().uid() + ", gid " + stack.user().gid() + "), not root");
        if (stack.hardening().stripSetuid()) {
            checks.add("no setuid or setgid file");
        }
        checks.add("every entry owned by root (the user's home aside) and not writable by group or others (sticky /tmp and /var/tmp aside)");
        if (stack.hardening().removeShells()) {
            checks.add("no shell (hardening.removeShells)");
        }
        if (stack.hardening().removePackageManagers()) {
            checks.add("no package manager (hardening.removePackageManagers)");
        }
        List<String> command = !stack.entrypoint().isEmpty() ? stack.entrypoint() : stack.cmd();
        if (!command.isEmpty()) {
            checks.add((!stack.entrypoint().isEmpty() ? "entrypoint " : "cmd ") + command.get(0) + " exists and is executable by uid "
                    + stack.user().uid());
        }
        checks.add(counts[0] + " ELF files: every interpreter and all " + counts[1] + " needed libraries present in the image");
        return new Result(problems, counts[0], counts[1], checks);
    }

    private static void checkEntrypoint(Rootfs fs, Stack stack, List<String> problems) {
        List<String> command = !stack.entrypoint().isEmpty() ? stack.entrypoint() : stack.cmd();
        if (command.isEmpty()) {
            return;
        }
        String field = !stack.entrypoint().isEmpty() ? "entrypoint" : "cmd";
        String program = command.get(0);
        Optional<Item> found = Optional.empty();
        if (program.contains("/")) {
            found = fs.resolve(program);
        } else {
            for (String dir : stack.env().getOrDefault("PATH", DEFAULT_PATH).split(":")) {
                found = fs.resolve(dir + "/" + program).filter(i -> i.type() == Item.Type.FILE);
                if (found.isPresent()) {
                    break;
                }
            }
        }
        if (found.isEmpty() || found.get().type() != Item.Type.FILE) {
            problems.add(field + ": " + program + " does not exist in the image");
        } else if ((found.get().mode() & 0001) == 0) {
            problems.add(field + ": " + program + " is not executable by user " + stack.user().uid()
                    + " (mode " + Hardening.octal(found.get().mode()) + ")");
        } else {
            try {
                byte[] start = found.get().content().read(0, 256);
                if (start.length > 2 && start[0] == '#' && start[1] == '!') {
                    String line = new String(start, 2, start.length - 2, java.nio.charset.StandardCharsets.UTF_8).split("\n")[0].strip();
                    String interpreter = line.split("\\s+")[0];
                    if (fs.resolve(interpreter).filter(i -> i.type() == Item.Type.FILE).isEmpty()) {
                        problems.add(field + ": " + program + " is a script for " + interpreter + ", which does not exist in the image");
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static int[] checkLibraries(Rootfs fs, Stack stack, List<String> problems) {
        String triplet = TRIPLETS.getOrDefault(stack.source().architecture(), stack.source().architecture() + "-linux-gnu");
        List<String> defaults = new ArrayList<>();
        for (String dir : stack.env().getOrDefault("LD_LIBRARY_PATH", "").split(":")) {
            if (!dir.isEmpty()) {
                defaults.add(dir);
            }
        }
        defaults.addAll(List.of("/lib/" + triplet, "/usr/lib/" + triplet, "/lib", "/usr/lib", "/lib64", "/usr/lib64"));
        // plugins (the JVM's lib*.so need libjvm.so) are dlopen()ed by a host that already loaded their
        // dependency; ld.so then matches the loaded object by name, so a library anywhere in the image counts
        Set<String> everywhere = new java.util.HashSet<>();
        for (Item item : fs.items()) {
            if (item.type() == Item.Type.FILE || item.type() == Item.Type.SYMLINK) {
                everywhere.add(Rootfs.name(item.path()));
            }
        }
        int elfFiles = 0;
        int resolved = 0;
        for (Item item : fs.items()) {
            if (item.type() != Item.Type.FILE) {
                continue;
            }
            try {
                if (!Elf.isElf(item.content())) {
                    continue;
                }
                Optional<Elf> elf = Elf.read(item.content());
                if (elf.isEmpty()) {
                    continue;
                }
                elfFiles++;
                String path = "/" + item.path();
                if (elf.get().interpreter() != null && fs.resolve(elf.get().interpreter()).filter(i -> i.type() == Item.Type.FILE).isEmpty()) {
                    problems.add(path + ": needs the interpreter " + elf.get().interpreter() + ", not found in the image");
                }
                String origin = "/" + Rootfs.parent(item.path());
                Set<String> search = new LinkedHashSet<>();
                for (String dir : elf.get().runpath()) {
                    search.add(dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin));
                }
                search.addAll(defaults);
                for (String needed : elf.get().needed()) {
                    if (find(fs, needed, search) || !needed.contains("/") && everywhere.contains(needed)) {
                        resolved++;
                    } else {
                        problems.add(path + ": needs " + needed + ", not found in the image (searched "
                                + String.join(":", search) + ")");
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new int[] {elfFiles, resolved};
    }

    private static boolean find(Rootfs fs, String library, Set<String> search) {
        if (library.contains("/")) {
            return fs.resolve(library).filter(i -> i.type() == Item.Type.FILE).isPresent();
        }
        for (String dir : search) {
            if (fs.resolve(dir + "/" + library).filter(i -> i.type() == Item.Type.FILE).isPresent()) {
                return true;
            }
        }
        return false;
    }
}
