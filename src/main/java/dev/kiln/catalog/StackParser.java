package dev.kiln.catalog;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.quartz.CronExpression;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Turns one stack file's node tree into a {@link Stack}: strict about keys and types, then checks each
 * value's meaning. Every problem is collected; the stack is returned only when there is none.
 */
final class StackParser {

    /** Allowed keys per object, in the order the schema and docs/catalog.md present them. */
    static final Map<String, Set<String>> KEYS = Map.of(
            "", keys("description", "owner", "version", "source", "packages", "excludes", "excludeLibraries", "user", "hardening",
                    "env", "entrypoint", "cmd", "workdir", "labels", "schedule", "target", "tag", "retention"),
            "source", keys("architecture", "keyring", "archives"),
            "source.archives[]", keys("url", "suites", "components"),
            "user", keys("name", "uid", "gid"),
            "hardening", keys("stripSetuid", "removeShells", "removePackageManagers", "dropPaths"),
            "schedule", keys("cron", "timeZone"),
            "target", keys("repository"),
            "retention", keys("keepLast", "keepDays", "keepPulledDays"));

    static final String DEFAULT_TAG = "{version}-{yyyymmdd}.{n}";
    static final Set<String> ARCHITECTURES = Set.of("amd64", "arm64", "armel", "armhf", "i386", "ppc64el", "riscv64", "s390x");

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern USER = Pattern.compile("[a-z_][a-z0-9_-]{0,31}");
    private static final Pattern ENV = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+");
    private static final Pattern RELATION = Pattern.compile(
            "([a-z0-9][a-z0-9+.-]+)(?:\\s*\\(\\s*(<<|<=|=|>=|>>)\\s*([0-9][A-Za-z0-9.+~:-]*)\\s*\\))?");
    private static final Pattern REPOSITORY = Pattern.compile(
            "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^}]*)}");

    private final String name;
    private final Path catalogDir;
    private final Catalog.Rules rules;
    private final YamlTree yaml;

    StackParser(String name, Path catalogDir, Catalog.Rules rules, YamlTree yaml) {
        this.name = name;
        this.catalogDir = catalogDir;
        this.rules = rules;
        this.yaml = yaml;
    }

    /** The stack, or null when any problem was found (they are in the tree's problem list). */
    Stack parse(Node root, List<Problem> problems) {
        int before = problems.size();
        if (!NAME.matcher(name).matches()) {
            yaml.problem("", "the file name '" + name + "' is not a stack name: lower-case letters, digits and '-', at most 63");
        }
        Map<String, Node> top = yaml.mapping(root, "", KEYS.get(""));
        if (top == null) {
            return null;
        }
        String description = required(top, "description");
        String owner = required(top, "owner");
        String version = required(top, "version");
        Stack.Source source = source(top.get("source"));
        List<String> packages = packages(top.get("packages"));
        List<String> excludes = excludes(top.get("excludes"), "excludes", packages, List.of());
        List<String> excludeLibraries = excludes(top.get("excludeLibraries"), "excludeLibraries", packages, excludes);
        Stack.User user = user(top.get("user"));
        Stack.Hardening hardening = hardening(top.get("hardening"));
        Map<String, String> env = env(top.get("env"));
        List<String> entrypoint = command(top.get("entrypoint"), "entrypoint", true);
        List<String> cmd = command(top.get("cmd"), "cmd", false);
        String workdir = top.containsKey("workdir") ? absolutePath(yaml.string(top.get("workdir"), "workdir"), "workdir") : "/";
        Map<String, String> labels = labels(top.get("labels"));
        Stack.Schedule schedule = schedule(top.get("schedule"));
        Stack.Target target = target(top.get("target"));
        String tag = tag(top.get("tag"), version);
        Stack.Retention retention = retention(top.get("retention"));
        if (problems.size() > before) {
            return null;
        }
        return new Stack(name, description, owner, version, source, packages, excludes, excludeLibraries, user, hardening, env,
                entrypoint, cmd, workdir, labels, schedule, target, tag, retention);
    }

    private String required(Map<String, Node> m, String key) {
        return required(m, key, key);
    }

    private String required(Map<String, Node> m, String key, String path) {
        Node n = m.get(key);
        if (n == null) {
            yaml.problem(path, "is required");
            return null;
        }
        String s = yaml.string(n, path);
        if (s != null && s.isBlank()) {
            yaml.problem(path, n, "must not be empty");
            return null;
        }
        return s;
    }

    private Stack.Source source(Node node) {
        if (node == null) {
            yaml.problem("source", "is required: the archives, suites, components, architecture and keyring to resolve packages from");
            return null;
        }
        Map<String, Node> m = yaml.mapping(node, "source", KEYS.get("source"));
        if (m == null) {
            return null;
        }
        String arch = required(m, "architecture", "source.architecture");
        if (arch != null && !ARCHITECTURES.contains(arch)) {
            yaml.problem("source.architecture", m.get("architecture"), "unknown Debian architecture '" + arch + "'; one of " + new java.util.TreeSet<>(ARCHITECTURES));
        }
        String keyring = required(m, "keyring", "source.keyring");
        if (keyring != null) {
            keyring(keyring, m.get("keyring"));
        }
        List<Stack.Archive> archives = new ArrayList<>();
        Node archivesNode = m.get("archives");
        if (archivesNode == null) {
            yaml.problem("source.archives", "is required");
        } else {
            List<Node> items = yaml.sequence(archivesNode, "source.archives");
            if (items != null && items.isEmpty()) {
                yaml.problem("source.archives", archivesNode, "must name at least one archive");
            }
            Set<String> suitesSeen = new HashSet<>();
            for (int i = 0; items != null && i < items.size(); i++) {
                String at = "source.archives[" + i + "]";
                Map<String, Node> a = yaml.mapping(items.get(i), at, KEYS.get("source.archives[]"));
                if (a == null) {
                    continue;
                }
                String url = required(a, "url", at + ".url");
                if (url != null && !validHttpUrl(url)) {
                    yaml.problem(at + ".url", a.get("url"), "must be an http:// or https:// URL without user, query, fragment, '.' or '..', found '" + url + "'");
                }
                List<String> suites = nonEmptyNames(a.get("suites"), at + ".suites");
                List<String> components = nonEmptyNames(a.get("components"), at + ".components");
                for (int k = 0; suites != null && k < suites.size(); k++) {
                    if (suites.get(k) != null && !suitesSeen.add(url + " " + suites.get(k))) {
                        yaml.problem(at + ".suites[" + k + "]", "suite '" + suites.get(k) + "' is listed twice");
                    }
                }
                if (url != null && suites != null && components != null) {
                    archives.add(new Stack.Archive(url, suites, components));
                }
            }
        }
        return new Stack.Source(arch, keyring, archives);
    }

    /**
     * The keyring must be a file inside the catalog, also once links are followed, and an OpenPGP
     * public keyring: found here, it is named as this field rather than as a failed lock later. Checked
     * with absolute paths, so {@code --catalog .} works.
     */
    private void keyring(String keyring, Node node) {
        Path root = catalogDir.toAbsolutePath().normalize();
        Path p = root.resolve(keyring).normalize();
        if (!p.startsWith(root)) {
            yaml.problem("source.keyring", node, "must be inside the catalog directory");
            return;
        }
        if (!Files.isRegularFile(p)) {
            yaml.problem("source.keyring", node, "no such file " + catalogDir.resolve(keyring));
            return;
        }
        try {
            Path real = p.toRealPath();
            if (!real.startsWith(root.toRealPath())) {
                yaml.problem("source.keyring", node, "is a symbolic link to " + real + ", outside the catalog directory");
                return;
            }
            dev.kiln.debian.Keyring.load(real);
        } catch (java.io.IOException e) {
            yaml.problem("source.keyring", node, "cannot be read: " + e.getMessage());
        } catch (dev.kiln.debian.DebianException e) {
            yaml.problem("source.keyring", node, e.getMessage().replace(real(p), keyring));
        }
    }

    private static String real(Path p) {
        try {
            return p.toRealPath().toString();
        } catch (java.io.IOException e) {
            return p.toString();
        }
    }

    private List<String> nonEmptyNames(Node node, String path) {
        if (node == null) {
            yaml.problem(path, "is required");
            return null;
        }
        List<String> values = yaml.strings(node, path);
        if (values == null) {
            return null;
        }
        if (values.isEmpty()) {
            yaml.problem(path, node, "must not be empty");
        }
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (v != null && !dev.kiln.debian.Names.isSuite(v)) {
                yaml.problem(path + "[" + i + "]", "'" + v + "' is not a suite or component name (segments of letters, digits"
                        + " and ._+~@=- separated by '/', none '.' or '..')");
            }
        }
        return values;
    }

    private List<String> packages(Node node) {
        if (node == null) {
            yaml.problem("packages", "is required: at least one package");
            return List.of();
        }
        List<String> values = yaml.strings(node, "packages");
        if (values == null) {
            return List.of();
        }
        if (values.isEmpty()) {
            yaml.problem("packages", node, "must name at least one package");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (v == null) {
                continue;
            }
            Matcher m = RELATION.matcher(v.strip());
            if (!m.matches()) {
                yaml.problem("packages[" + i + "]", "'" + v + "' is not a package name, optionally with a version relation such as 'tzdata (>= 2025a)'");
            } else if (!seen.add(m.group(1))) {
                yaml.problem("packages[" + i + "]", "'" + m.group(1) + "' is listed twice");
            }
        }
        return values;
    }

    private List<String> excludes(Node node, String key, List<String> packages, List<String> excluded) {
        if (node == null) {
            return List.of();
        }
        List<String> values = yaml.strings(node, key);
        if (values == null) {
            return List.of();
        }
        Set<String> requested = new HashSet<>();
        packages.stream().filter(p -> p != null).forEach(p -> requested.add(p.strip().split("[\\s(]")[0]));
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (v != null && !PACKAGE.matcher(v).matches()) {
                yaml.problem(key + "[" + i + "]", "'" + v + "' is not a package name");
            } else if (v != null && requested.contains(v)) {
                yaml.problem(key + "[" + i + "]", "'" + v + "' is also in packages; a stack cannot both want and exclude it");
            } else if (v != null && excluded.contains(v)) {
                yaml.problem(key + "[" + i + "]", "'" + v + "' is also in excludes; name a shared library once, under excludeLibraries");
            }
        }
        return values;
    }

    private Stack.User user(Node node) {
        if (node == null) {
            return new Stack.User("nonroot", 65532, 65532);
        }
        Map<String, Node> m = yaml.mapping(node, "user", KEYS.get("user"));
        if (m == null) {
            return null;
        }
        String userName = m.containsKey("name") ? yaml.string(m.get("name"), "user.name") : "nonroot";
        if (userName != null && !USER.matcher(userName).matches()) {
            yaml.problem("user.name", m.get("name"), "'" + userName + "' is not a valid user name");
        }
        if (userName != null) {
            // the user's group takes the user's name, so a name may collide in either file
            Optional<SystemAccounts.User> user = SystemAccounts.userNamed(userName);
            user.ifPresent(u -> yaml.problem("user.name", m.get("name"),
                    "'" + userName + "' is already a user in every image (/etc/passwd: " + u.line() + "); " + choose(u.uid(), "name")));
            SystemAccounts.groupNamed(userName).filter(g -> user.isEmpty()).ifPresent(g -> yaml.problem("user.name", m.get("name"),
                    "'" + userName + "' is already a group in every image (/etc/group: " + g.line()
                            + ") and the user's group takes its name; choose another name"));
        }
        // 0 passes the range so that the message can say it is root's
        Integer uid = m.containsKey("uid") ? yaml.integer(m.get("uid"), "user.uid", 0, Integer.MAX_VALUE) : Integer.valueOf(65532);
        Integer gid = m.containsKey("gid") ? yaml.integer(m.get("gid"), "user.gid", 0, Integer.MAX_VALUE) : uid;
        if (uid != null) {
            SystemAccounts.userWithUid(uid).ifPresent(u -> yaml.problem("user.uid", m.get("uid"),
                    uid + " is already the uid of '" + u.name() + "' in every image (/etc/passwd: " + u.line() + "); " + choose(uid, "")));
        }
        if (gid != null && (m.containsKey("gid") || uid == null || SystemAccounts.userWithUid(uid).isEmpty())) {
            SystemAccounts.groupWithGid(gid).ifPresent(g -> yaml.problem(m.containsKey("gid") ? "user.gid" : "user.uid",
                    m.containsKey("gid") ? m.get("gid") : m.get("uid"), gid + " is already the gid of group '" + g.name()
                            + "' in every image (/etc/group: " + g.line() + ")" + (m.containsKey("gid") ? "" : " and the gid defaults to the uid")
                            + "; " + choose(gid, "")));
        }
        return uid == null || gid == null ? null : new Stack.User(userName, uid, gid);
    }

    private static String choose(int id, String what) {
        return (id == 0 ? "images run as a non-root user; " : "") + "choose another" + (what.isEmpty() ? "" : " " + what);
    }

    private Stack.Hardening hardening(Node node) {
        if (node == null) {
            return new Stack.Hardening(true, false, false, List.of());
        }
        Map<String, Node> m = yaml.mapping(node, "hardening", KEYS.get("hardening"));
        if (m == null) {
            return null;
        }
        Boolean setuid = m.containsKey("stripSetuid") ? yaml.bool(m.get("stripSetuid"), "hardening.stripSetuid") : Boolean.TRUE;
        Boolean shells = m.containsKey("removeShells") ? yaml.bool(m.get("removeShells"), "hardening.removeShells") : Boolean.FALSE;
        Boolean managers = m.containsKey("removePackageManagers")
                ? yaml.bool(m.get("removePackageManagers"), "hardening.removePackageManagers") : Boolean.FALSE;
        List<String> drop = List.of();
        if (m.containsKey("dropPaths")) {
            drop = yaml.strings(m.get("dropPaths"), "hardening.dropPaths");
            for (int i = 0; drop != null && i < drop.size(); i++) {
                String p = absolutePath(drop.get(i), "hardening.dropPaths[" + i + "]");
                if ("/".equals(p)) {
                    yaml.problem("hardening.dropPaths[" + i + "]", "dropping '/' would leave an empty image");
                }
            }
        }
        return setuid == null || shells == null || managers == null || drop == null ? null
                : new Stack.Hardening(setuid, shells, managers, drop);
    }

    private Map<String, String> env(Node node) {
        if (node == null) {
            return Map.of();
        }
        Map<String, String> env = yaml.stringMap(node, "env");
        if (env == null) {
            return Map.of();
        }
        env.keySet().stream().filter(k -> !ENV.matcher(k).matches())
                .forEach(k -> yaml.problem("env." + k, "'" + k + "' is not a valid environment variable name"));
        return env;
    }

    private List<String> command(Node node, String path, boolean absolute) {
        if (node == null) {
            return List.of();
        }
        List<String> args = yaml.strings(node, path);
        if (args == null) {
            return List.of();
        }
        if (absolute && !args.isEmpty() && args.get(0) != null && !args.get(0).startsWith("/")) {
            yaml.problem(path + "[0]", "the program must be an absolute path (there is no shell to search PATH), found '" + args.get(0) + "'");
        }
        return args;
    }

    private Map<String, String> labels(Node node) {
        if (node == null) {
            return Map.of();
        }
        Map<String, String> labels = yaml.stringMap(node, "labels");
        if (labels == null) {
            return Map.of();
        }
        labels.keySet().stream().filter(k -> k.startsWith("org.opencontainers.image.") || k.startsWith("dev.kiln."))
                .forEach(k -> yaml.problem("labels." + k, "Kiln sets '" + k + "' itself; it cannot be overridden"));
        return labels;
    }

    private Stack.Schedule schedule(Node node) {
        if (node == null) {
            return new Stack.Schedule("0 0 3 * * ?", "UTC");
        }
        Map<String, Node> m = yaml.mapping(node, "schedule", KEYS.get("schedule"));
        if (m == null) {
            return null;
        }
        String cron = required(m, "cron", "schedule.cron");
        if (cron != null && !CronExpression.isValidExpression(cron)) {
            String why;
            try {
                CronExpression.validateExpression(cron);
                why = "invalid";
            } catch (java.text.ParseException e) {
                why = e.getMessage();
            }
            yaml.problem("schedule.cron", m.get("cron"), "'" + cron + "' is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week): " + why);
        }
        String zone = m.containsKey("timeZone") ? yaml.string(m.get("timeZone"), "schedule.timeZone") : "UTC";
        java.util.TimeZone timeZone = null;
        if (zone != null) {
            try {
                timeZone = Stack.Schedule.zoneOf(zone); // the scheduler's own rule
            } catch (DateTimeException e) {
                yaml.problem("schedule.timeZone", m.get("timeZone"), "unknown time zone '" + zone + "'");
            }
        }
        if (cron != null && timeZone != null && CronExpression.isValidExpression(cron)) {
            java.time.Duration shortest = shortestInterval(cron, timeZone);
            if (shortest != null && shortest.compareTo(rules.minScheduleInterval()) < 0) {
                yaml.problem("schedule.cron", m.get("cron"), "'" + cron + "' fires every " + human(shortest) + " at its most frequent;"
                        + " the minimum is " + human(rules.minScheduleInterval()) + " (kiln.min-schedule-interval)");
            }
        }
        return new Stack.Schedule(cron, zone);
    }

    /**
     * The shortest time between two fires of a cron in its zone, over a year of fires from each month
     * and across each daylight-saving change (where an hourly cron may fire twice in an hour); null
     * when it fires once or never.
     */
    static java.time.Duration shortestInterval(String cron, java.util.TimeZone zone) {
        CronExpression expression;
        try {
            expression = new CronExpression(cron);
        } catch (java.text.ParseException e) {
            return null;
        }
        expression.setTimeZone(zone);
        java.time.ZoneId id = zone.toZoneId();
        List<java.time.Instant> starts = new ArrayList<>();
        java.time.ZonedDateTime year = java.time.ZonedDateTime.of(2026, 1, 1, 0, 0, 0, 0, id);
        for (int month = 0; month < 12; month++) {
            starts.add(year.plusMonths(month).toInstant());
        }
        java.time.zone.ZoneOffsetTransition t = id.getRules().nextTransition(year.toInstant());
        for (int k = 0; t != null && k < 4; k++, t = id.getRules().nextTransition(t.getInstant())) {
            starts.add(t.getInstant().minus(java.time.Duration.ofHours(3)));
        }
        java.time.Duration shortest = null;
        for (java.time.Instant start : starts) {
            java.util.Date previous = expression.getNextValidTimeAfter(java.util.Date.from(start));
            for (int n = 0; n < 100 && previous != null; n++) {
                java.util.Date next = expression.getNextValidTimeAfter(previous);
                if (next == null) {
                    break;
                }
                java.time.Duration gap = java.time.Duration.ofMillis(next.getTime() - previous.getTime());
                shortest = shortest == null || gap.compareTo(shortest) < 0 ? gap : shortest;
                previous = next;
            }
        }
        return shortest;
    }

    private static String human(java.time.Duration d) {
        long s = d.toSeconds();
        long n = s % 3600 == 0 ? s / 3600 : s % 60 == 0 ? s / 60 : s;
        String unit = s % 3600 == 0 ? "hour" : s % 60 == 0 ? "minute" : "second";
        return n + " " + unit + (n == 1 ? "" : "s");
    }

    private Stack.Target target(Node node) {
        if (node == null) {
            return new Stack.Target(name);
        }
        Map<String, Node> m = yaml.mapping(node, "target", KEYS.get("target"));
        if (m == null) {
            return null;
        }
        String repo = required(m, "repository", "target.repository");
        if (repo != null && !REPOSITORY.matcher(repo).matches()) {
            yaml.problem("target.repository", m.get("repository"), "'" + repo + "' is not an OCI repository name (lower-case path components such as golden/java)");
        }
        return new Stack.Target(repo);
    }

    private String tag(Node node, String version) {
        String template = node == null ? DEFAULT_TAG : yaml.string(node, "tag");
        if (template == null) {
            return null;
        }
        Matcher m = PLACEHOLDER.matcher(template);
        Set<String> used = new LinkedHashSet<>();
        StringBuilder example = new StringBuilder();
        while (m.find()) {
            String p = m.group(1);
            used.add(p);
            String value = switch (p) {
                case "version" -> version == null ? "1" : version;
                case "yyyymmdd" -> "20260101";
                case "n" -> "1";
                default -> {
                    yaml.problem("tag", node, "unknown placeholder {" + p + "}; use {version}, {yyyymmdd} and {n}");
                    yield "x";
                }
            };
            m.appendReplacement(example, Matcher.quoteReplacement(value));
        }
        m.appendTail(example);
        if (!used.contains("n")) {
            yaml.problem("tag", node, "must contain {n}, so that a second build on the same day gets a new tag (tags are immutable)");
        }
        if (!TAG.matcher(example).matches()) {
            yaml.problem("tag", node, "'" + template + "' expands to '" + example + "', which is not a valid OCI tag");
        }
        return template;
    }

    private Stack.Retention retention(Node node) {
        if (node == null) {
            return new Stack.Retention(10, 30, 30);
        }
        Map<String, Node> m = yaml.mapping(node, "retention", KEYS.get("retention"));
        if (m == null) {
            return null;
        }
        Integer last = m.containsKey("keepLast") ? yaml.integer(m.get("keepLast"), "retention.keepLast", 1, 100_000) : Integer.valueOf(10);
        Integer days = m.containsKey("keepDays") ? yaml.integer(m.get("keepDays"), "retention.keepDays", 0, 36_500) : Integer.valueOf(30);
        Integer pulled = m.containsKey("keepPulledDays") ? yaml.integer(m.get("keepPulledDays"), "retention.keepPulledDays", 0, 36_500) : Integer.valueOf(30);
        return last == null || days == null || pulled == null ? null : new Stack.Retention(last, days, pulled);
    }

    private String absolutePath(String p, String path) {
        if (p == null) {
            return null;
        }
        String trimmed = p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        if (!p.startsWith("/") || !Path.of(p).normalize().toString().equals(trimmed)) {
            yaml.problem(path, "must be a normalized absolute path, found '" + p + "'");
        }
        return p;
    }

    private static boolean validHttpUrl(String url) {
        try {
            URI u = URI.create(url);
            return ("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null && u.getRawUserInfo() == null
                    && u.getRawQuery() == null && u.getRawFragment() == null && !("/" + u.getRawPath() + "/").contains("/../")
                    && !("/" + u.getRawPath() + "/").contains("/./");
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static Set<String> keys(String... keys) {
        return java.util.Collections.unmodifiableSet(new LinkedHashSet<>(List.of(keys)));
    }
}
