package dev.kiln.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed command line: the command, its flags, its positional arguments, and the Spring properties
 * that options such as {@code --catalog} stand for.
 */
record Invocation(String command, Set<String> flags, List<String> arguments, List<String> springArgs, Map<String, String> options) {

    static final Set<String> COMMANDS = Set.of("validate", "lock", "build", "history", "retire", "audit", "verify", "key", "rebuild", "serve");

    static Invocation parse(String[] args) {
        String command = null;
        Set<String> flags = new LinkedHashSet<>();
        List<String> arguments = new ArrayList<>();
        List<String> spring = new ArrayList<>();
        Map<String, String> options = new LinkedHashMap<>();
        int mirrors = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            String name = a;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            switch (name) {
                case "-h", "--help" -> flags.add("help");
                case "--catalog", "--data-dir" -> {
                    if (value == null) {
                        if (i + 1 == args.length) {
                            throw new UsageException(name + " needs a directory");
                        }
                        value = args[++i];
                    }
                    spring.add("--kiln." + name.substring(2) + "=" + value);
                }
                case "--target", "--tag", "--limit", "--key", "--rebase" -> {
                    if (value == null) {
                        if (i + 1 == args.length) {
                            throw new UsageException(name + " needs a value");
                        }
                        value = args[++i];
                    }
                    if (name.equals("--target")) {
                        spring.add("--kiln.build.target=" + value);
                    } else {
                        options.put(name.substring(2), value);
                    }
                }
                case "--mirror" -> {
                    if (value == null) {
                        if (i + 1 == args.length) {
                            throw new UsageException("--mirror needs ARCHIVE=URL");
                        }
                        value = args[++i];
                    }
                    int sep = value.indexOf('=');
                    if (sep <= 0) {
                        throw new UsageException("--mirror needs ARCHIVE=URL, for example http://deb.debian.org/debian=http://proxy/debian");
                    }
                    spring.add("--kiln.mirrors[" + mirrors + "].archive=" + value.substring(0, sep));
                    spring.add("--kiln.mirrors[" + mirrors++ + "].url=" + value.substring(sep + 1));
                }
                default -> {
                    if (a.startsWith("--") && a.contains("=") && a.length() > 2) {
                        spring.add(a); // any Spring property, e.g. --logging.level.dev.kiln=debug
                    } else if (a.startsWith("-")) {
                        flags.add(a.replaceFirst("^-+", ""));
                    } else if (command == null && arguments.isEmpty() && COMMANDS.contains(a)) {
                        command = a;
                    } else if (command == null && arguments.isEmpty()) {
                        throw new UsageException("unknown command '" + a + "'; one of validate, lock, build, history, retire, audit, verify, key, rebuild, serve");
                    } else {
                        arguments.add(a);
                    }
                }
            }
        }
        return new Invocation(command == null ? "serve" : command, flags, arguments, spring, options);
    }

    /** Refuses flags the command does not know, so a typo never silently changes what runs. */
    void allowFlags(String... allowed) {
        Set<String> known = new LinkedHashSet<>(List.of(allowed));
        known.add("help");
        for (String f : flags) {
            if (!known.contains(f)) {
                throw new UsageException("kiln " + command + ": unknown option --" + f);
            }
        }
    }

    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
