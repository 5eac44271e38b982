package dev.kiln.image;

import dev.kiln.catalog.Architecture;
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
 * exists and can run, every program and shared library built for the image's architecture, and every
 * ELF file's interpreter and DT_NEEDED libraries present in that architecture's directories. Each
 * problem names the file and the missing piece.
 */
final class Verifier {

    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** {@code checks}: every check that ran, in words; all of them passed when {@code problems} is empty. */
    record Result(List<String> problems, int elfFiles, int librariesResolved, List<String> checks) {
    }

    /** The problems listed in full; the rest are counted. */
    static final int MAX_PROBLEMS = 200;

    private Verifier() {
    }

    /** @param env the environment the image runs with ({@link ImageEnv}) */
    static Result verify(Rootfs fs, Stack stack, Map<String, String> env) {
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
        checkAccounts(fs, "etc/passwd", "uid", problems);
        checkAccounts(fs, "etc/group", "gid", problems);
        checkLocales(fs, env, problems);
        checkEntrypoint(fs, stack, problems);
        int[] counts = checkLibraries(fs, stack, env, problems);
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
        Architecture arch = Architecture.named(stack.architecture());
        checks.add(counts[0] + " ELF files: every program and library built for " + arch.debian() + " (" + arch.machine()
                + "), every interpreter and all " + counts[1] + " needed libraries present in the image");
        if (problems.size() > MAX_PROBLEMS) {
            // a package's ELF may name 65,536 libraries: millions of lines into the error, the CLI and the build record
            int more = problems.size() - MAX_PROBLEMS;
            problems = new ArrayList<>(problems.subList(0, MAX_PROBLEMS));
            problems.add("... and " + more + " more problems (the first " + MAX_PROBLEMS + " are listed)");
        }
        return new Result(problems, counts[0], counts[1], checks);
    }

    /**
     * A locale named in {@code LANG} or {@code LC_*} must be in the image, or glibc falls back to ASCII
     * without a word. glibc looks for {@code /usr/lib/locale/NAME} with the codeset as written and
     * normalized ({@code C.UTF-8} → {@code C.utf8}), then in {@code locale-archive}.
     */
    private static void checkLocales(Rootfs fs, Map<String, String> env, List<String> problems) {
        boolean archive = fs.resolve("usr/lib/locale/locale-archive").isPresent();
        env.forEach((name, value) -> {
            if (!(name.equals("LANG") || name.startsWith("LC_")) || value.isEmpty() || value.equals("C") || value.equals("POSIX")
                    || value.contains("/") || archive) {
                return;
            }
            String normalized = normalizeCodeset(value);
            boolean present = fs.resolve("usr/lib/locale/" + value + "/LC_CTYPE").isPresent()
                    || fs.resolve("usr/lib/locale/" + normalized + "/LC_CTYPE").isPresent();
            if (!present) {
                problems.add("env: " + name + "=" + value + " names a locale the image does not have (no /usr/lib/locale/" + normalized + ")");
            }
        });
    }

    /** glibc's _nl_normalize_codeset: the codeset lower-cased, alphanumerics only. */
    static String normalizeCodeset(String locale) {
        int dot = locale.indexOf('.');
        if (dot < 0) {
            return locale;
        }
        int at = locale.indexOf('@', dot);
        String codeset = locale.substring(dot + 1, at < 0 ? locale.length() : at);
        StringBuilder normal = new StringBuilder();
        boolean digitsOnly = true;
        for (char c : codeset.toCharArray()) {
            if (Character.isLetterOrDigit(c)) {
                normal.append(Character.toLowerCase(c));
                digitsOnly &= Character.isDigit(c);
            }
        }
        return locale.substring(0, dot + 1) + (digitsOnly ? "iso" : "") + normal + (at < 0 ? "" : locale.substring(at));
    }

    /** Every name and id once: a second entry is ignored or, worse, wins, depending on who reads the file. */
    private static void checkAccounts(Rootfs fs, String file, String idName, List<String> problems) {
        Optional<Item> item = fs.resolve(file).filter(i -> i.type() == Item.Type.FILE);
        if (item.isEmpty()) {
            return;
        }
        Map<String, List<String>> byName = new java.util.TreeMap<>();
        Map<String, List<String>> byId = new java.util.TreeMap<>();
        try {
            String text = new String(item.get().content().read(0, (int) item.get().size()), java.nio.charset.StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                String[] fields = line.split(":", -1);
                if (line.isBlank() || line.startsWith("#") || fields.length < 3) {
                    continue;
                }
                byName.computeIfAbsent(fields[0], k -> new ArrayList<>()).add(fields[0]);
                byId.computeIfAbsent(fields[2], k -> new ArrayList<>()).add(fields[0]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byName.forEach((name, entries) -> {
            if (entries.size() > 1) {
                problems.add("/" + file + ": '" + name + "' appears " + entries.size() + " times");
            }
        });
        byId.forEach((id, names) -> {
            if (names.size() > 1) {
                problems.add("/" + file + ": " + idName + " " + id + " belongs to " + String.join(", ", names));
            }
        });
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

    /**
     * Each ELF file's interpreter and DT_NEEDED libraries, looked up as Debian's ld.so does in an image
     * without {@code /etc/ld.so.cache} (Kiln runs no ldconfig): the file's RPATH/RUNPATH ({@code $ORIGIN}
     * expanded), {@code LD_LIBRARY_PATH} from the image's env, then the system directories of the
     * platform's multiarch triplet and {@code /lib}, {@code /usr/lib} ({@code ld.so --help} lists these four).
     */
    private static int[] checkLibraries(Rootfs fs, Stack stack, Map<String, String> env, List<String> problems) {
        Architecture arch = Architecture.named(stack.architecture());
        String triplet = arch.multiarch();
        List<String> defaults = new ArrayList<>();
        for (String dir : env.getOrDefault("LD_LIBRARY_PATH", "").split(":")) {
            if (!dir.isEmpty()) {
                defaults.add(dir);
            }
        }
        defaults.addAll(List.of("/lib/" + triplet, "/usr/lib/" + triplet, "/lib", "/usr/lib"));
        // plugins (the JVM's lib*.so need libjvm.so) are dlopen()ed by a host that already loaded their
        // dependency; ld.so then matches the loaded object by name, so for a shared object a library of that
        // name anywhere in the image counts. A program starts with nothing loaded: it gets no such fallback,
        // or an arm64 program would pass on a library that exists only in the x86_64 directory.
        Map<String, String> everywhere = new java.util.HashMap<>(); // name -> its first path, to name it in a program's problem
        for (Item item : fs.items()) {
            if (item.type() == Item.Type.FILE || item.type() == Item.Type.SYMLINK) {
                everywhere.merge(Rootfs.name(item.path()), "/" + item.path(), (a, b) -> a.compareTo(b) <= 0 ? a : b);
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
                Elf.Header header = Elf.header(item.content());
                if (header != null && header.runs() && !arch.runs(header.machine(), header.wide())) {
                    // a package of another architecture: it would fail with "exec format error", or load nowhere
                    problems.add("/" + item.path() + ": an ELF " + (header.type() == 2 ? "program" : "shared object") + " for "
                            + machineName(header) + ", but the image is for " + arch.debian() + " (" + arch.machine() + ")");
                    elfFiles++;
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
                // a program: what the kernel starts through an interpreter (a PIE is ET_DYN with PT_INTERP), or ET_EXEC
                boolean program = elf.get().interpreter() != null || header != null && header.type() == 2;
                String origin = "/" + Rootfs.parent(item.path());
                Set<String> search = new LinkedHashSet<>();
                for (String dir : elf.get().runpath()) {
                    search.add(dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin));
                }
                search.addAll(defaults);
                for (String needed : elf.get().needed()) {
                    String elsewhere = needed.contains("/") ? null : everywhere.get(needed);
                    if (find(fs, needed, search) || elsewhere != null && !program) {
                        resolved++;
                    } else if (elsewhere != null) {
                        problems.add(path + ": needs " + needed + ", not found on its search path (searched " + String.join(":", search)
                                + "): the image has it only as " + elsewhere + ", where the loader does not look");
                    } else {
                        problems.add(path + ": needs " + needed + ", not found in the image (searched " + String.join(":", search) + ")");
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new int[] {elfFiles, resolved};
    }

    /** The architecture an ELF header names, as Kiln or readelf would call it. */
    private static String machineName(Elf.Header header) {
        for (Architecture a : Architecture.values()) {
            if (a.elfMachine() == header.machine() && a.elf64() == header.wide()) {
                return a.machine() + " (e_machine " + header.machine() + ")";
            }
        }
        return "e_machine " + header.machine() + ", " + (header.wide() ? "64" : "32") + "-bit";
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
