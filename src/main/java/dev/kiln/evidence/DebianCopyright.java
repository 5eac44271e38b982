package dev.kiln.evidence;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.spdx.library.LicenseInfoFactory;

/**
 * A package's declared licence, read from its {@code /usr/share/doc/NAME/copyright}. In Debian's
 * machine-readable format (DEP-5) every {@code Files} paragraph's {@code License} is one licence
 * expression of short names; the package declares all of them (AND). Each short name becomes an SPDX
 * licence id where it is one (case aside, with DEP-5's conventions: {@code GPL-2+} is
 * {@code GPL-2.0-or-later}, {@code Expat} is {@code MIT}), and a {@code LicenseRef-} otherwise, whose text
 * is the file's own paragraph for that name. A free-form file gives only the licences it points to in
 * {@code /usr/share/common-licenses}; no file gives none (NOASSERTION).
 */
final class DebianCopyright {

    /**
     * @param expression the SPDX licence expression, or null for NOASSERTION
     * @param refs       each {@code LicenseRef-} the expression uses → its text
     * @param copyright  the Copyright fields' lines, or null
     * @param comment    how the expression was found
     */
    record Licence(String expression, Map<String, String> refs, String copyright, String comment) {
        Licence {
            refs = Map.copyOf(refs);
        }
    }

    private static final Pattern COMMON_LICENSES = Pattern.compile("/usr/share/common-licenses/([A-Za-z0-9][A-Za-z0-9.+_-]*[A-Za-z0-9+])");
    private static final Pattern GNU = Pattern.compile("(?i)(A?GPL|LGPL|GFDL|GFDL-NIV)-([0-9]+)(\\.[0-9]+)?");

    private DebianCopyright() {
    }

    static Licence read(String text) {
        if (text == null || text.isBlank()) {
            return new Licence(null, Map.of(), null, "the package ships no copyright file");
        }
        List<Map<String, String>> paragraphs = paragraphs(text);
        boolean dep5 = !paragraphs.isEmpty() && paragraphs.get(0).getOrDefault("format", "").contains("copyright-format");
        if (!dep5) {
            Set<String> terms = new LinkedHashSet<>();
            Map<String, String> refs = new LinkedHashMap<>();
            Matcher m = COMMON_LICENSES.matcher(text);
            while (m.find()) {
                terms.add(term(m.group(1), refs, Map.of(), null));
            }
            return terms.isEmpty() ? new Licence(null, Map.of(), null, "free-form copyright file naming no licence Kiln can identify")
                    : new Licence(and(terms), refs, null, "free-form copyright file: the licences it refers to in /usr/share/common-licenses");
        }
        // standalone License paragraphs give the texts of the short names the Files paragraphs use
        Map<String, String> texts = new LinkedHashMap<>();
        for (Map<String, String> p : paragraphs) {
            String licence = p.get("license");
            if (licence != null && !p.containsKey("files") && !p.containsKey("format")) {
                String[] lines = licence.split("\n", 2);
                if (lines.length == 2 && !lines[1].isBlank()) {
                    texts.put(lines[0].strip().toLowerCase(Locale.ROOT), lines[1]);
                }
            }
        }
        Set<String> expressions = new LinkedHashSet<>();
        Set<String> copyrights = new LinkedHashSet<>();
        Map<String, String> refs = new LinkedHashMap<>();
        for (Map<String, String> p : paragraphs) {
            String copyright = p.get("copyright");
            if (copyright != null) {
                copyright.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.equals(".")).forEach(copyrights::add);
            }
            String licence = p.get("license");
            if (licence != null && (p.containsKey("files") || p.containsKey("format"))) {
                String[] lines = licence.split("\n", 2);
                String own = lines.length == 2 && !lines[1].isBlank() ? lines[1] : null;
                if (!lines[0].isBlank()) {
                    expressions.add(expression(lines[0].strip(), refs, texts, own));
                }
            }
        }
        return new Licence(expressions.isEmpty() ? null : and(expressions), refs, copyrights.isEmpty() ? null : String.join("\n", copyrights),
                "declared in the package's machine-readable copyright file (DEP-5)");
    }

    /** One License field's first line ({@code GPL-2+ or Artistic}, {@code LGPL-2.1+ with OpenSSL exception}) as SPDX. */
    static String expression(String field, Map<String, String> refs, Map<String, String> texts, String own) {
        // DEP-5: a comma binds weaker than 'and'/'or' ("A or B, and C" is "(A or B) and C")
        String[] chunks = field.split(",");
        if (chunks.length > 1) {
            StringBuilder out = new StringBuilder();
            for (String chunk : chunks) {
                String c = chunk.strip();
                String op = "AND";
                if (c.toLowerCase(Locale.ROOT).startsWith("and ")) {
                    c = c.substring(4).strip();
                } else if (c.toLowerCase(Locale.ROOT).startsWith("or ")) {
                    c = c.substring(3).strip();
                    op = "OR";
                }
                if (c.isEmpty()) {
                    continue;
                }
                String e = expression(c, refs, texts, own);
                out.append(out.length() == 0 ? "" : " " + op + " ").append(compound(e) ? "(" + e + ")" : e);
            }
            return out.toString();
        }
        List<String> words = new ArrayList<>(List.of(field.replace("(", " ( ").replace(")", " ) ").trim().split("\\s+")));
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            String lower = w.toLowerCase(Locale.ROOT);
            if (lower.equals("and") || lower.equals("or") || lower.equals("&") || lower.equals("|")) {
                out.append(' ').append(lower.equals("and") || lower.equals("&") ? "AND" : "OR").append(' ');
            } else if (w.equals("(") || w.equals(")")) {
                out.append(w);
            } else {
                // a licence name, maybe followed by "with NAME exception"
                int end = i;
                String exception = null;
                if (i + 1 < words.size() && words.get(i + 1).equalsIgnoreCase("with")) {
                    int j = i + 2;
                    List<String> name = new ArrayList<>();
                    while (j < words.size() && !words.get(j).equalsIgnoreCase("exception") && !words.get(j).equals(")")
                            && !words.get(j).equalsIgnoreCase("and") && !words.get(j).equalsIgnoreCase("or")) {
                        name.add(words.get(j++));
                    }
                    exception = String.join("-", name);
                    end = j < words.size() && words.get(j).equalsIgnoreCase("exception") ? j : j - 1;
                }
                String t = term(w, refs, texts, own);
                if (exception != null) {
                    Optional<String> id = exceptionId(exception);
                    t = id.isPresent() && !t.startsWith("LicenseRef-") && !compound(t) ? t + " WITH " + id.get()
                            : ref(w + "-with-" + exception + "-exception", refs, texts, own);
                }
                out.append(t);
                i = end;
            }
        }
        return out.toString().replace("( ", "(").replace(" )", ")").strip();
    }

    /** One short name as an SPDX id (or a small expression, for Perl), else a LicenseRef. */
    static String term(String name, Map<String, String> refs, Map<String, String> texts, String own) {
        // "GPL2", "LGPL2.1" as some copyright files spell them
        String n = name.strip().replaceFirst("(?i)^(A?GPL|LGPL)([0-9])", "$1-$2");
        boolean plus = n.endsWith("+");
        String base = plus ? n.substring(0, n.length() - 1) : n;
        String lower = base.toLowerCase(Locale.ROOT);
        switch (lower) {
            case "expat" -> {
                return plus ? "MIT+" : "MIT";
            }
            case "perl" -> {
                return "(Artistic-1.0-Perl OR GPL-1.0-or-later)";
            }
            case "artistic" -> {
                return "Artistic-1.0-Perl";
            }
            default -> {
            }
        }
        Matcher gnu = GNU.matcher(base);
        if (gnu.matches()) {
            String family = gnu.group(1).toUpperCase(Locale.ROOT);
            String version = gnu.group(2) + (gnu.group(3) == null ? ".0" : gnu.group(3));
            String id = family.equals("GFDL-NIV") ? "GFDL-" + version + "-no-invariants-" + (plus ? "or-later" : "only")
                    : family + "-" + version + (plus ? "-or-later" : "-only");
            Optional<String> listed = LicenseInfoFactory.listedLicenseIdCaseSensitive(id);
            if (listed.isPresent()) {
                return listed.get();
            }
        }
        if (lower.startsWith("zope-")) {
            base = "ZPL-" + base.substring(5);
        }
        Optional<String> id = LicenseInfoFactory.listedLicenseIdCaseSensitive(base);
        if (id.isEmpty() && base.matches(".*-[0-9]+")) {
            id = LicenseInfoFactory.listedLicenseIdCaseSensitive(base + ".0");
        }
        if (id.isPresent()) {
            return plus ? id.get() + "+" : id.get();
        }
        return ref(n, refs, texts, own);
    }

    /**
     * An SPDX exception id for a DEP-5 exception name: itself, NAME-exception, or the one listed id of the
     * form NAME-exception-VERSION ({@code Classpath} → {@code Classpath-exception-2.0}).
     */
    private static Optional<String> exceptionId(String name) {
        for (String candidate : List.of(name, name + "-exception")) {
            Optional<String> id = LicenseInfoFactory.listedExceptionIdCaseSensitive(candidate);
            if (id.isPresent()) {
                return id;
            }
        }
        String prefix = (name + "-exception-").toLowerCase(Locale.ROOT);
        List<String> versions = org.spdx.library.ListedLicenses.getListedLicenses().getSpdxListedExceptionIds().stream()
                .filter(id -> id.toLowerCase(Locale.ROOT).startsWith(prefix) && id.substring(prefix.length()).matches("[0-9.]+"))
                .toList();
        return versions.size() == 1 ? Optional.of(versions.get(0)) : Optional.empty();
    }

    private static String ref(String name, Map<String, String> refs, Map<String, String> texts, String own) {
        String id = "LicenseRef-" + name.replaceAll("\\+$", "-or-later").replaceAll("[^A-Za-z0-9.]+", "-").replaceAll("(^-+|-+$)", "");
        String text = texts.get(name.toLowerCase(Locale.ROOT));
        if (text == null) {
            text = own;
        }
        if (text == null) {
            text = "The package's copyright file names this licence (" + name + ") without giving its text.";
        }
        refs.putIfAbsent(id, unfold(text));
        return id;
    }

    private static boolean compound(String expression) {
        return expression.contains(" AND ") || expression.contains(" OR ");
    }

    private static String and(Set<String> expressions) {
        if (expressions.size() == 1) {
            return expressions.iterator().next();
        }
        StringBuilder out = new StringBuilder();
        for (String e : expressions) {
            out.append(out.length() == 0 ? "" : " AND ").append(compound(e) && !(e.startsWith("(") && e.endsWith(")")) ? "(" + e + ")" : e);
        }
        return out.toString();
    }

    /** A field's continuation lines as text: the leading space goes, a lone "." is an empty line. */
    private static String unfold(String text) {
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n")) {
            String l = line.startsWith(" ") || line.startsWith("\t") ? line.substring(1) : line;
            out.append(l.strip().equals(".") ? "" : l).append('\n');
        }
        return out.toString().strip();
    }

    /** RFC 822-style paragraphs; field names lower-cased; a field's continuation lines follow its first after a newline. */
    private static List<Map<String, String>> paragraphs(String text) {
        List<Map<String, String>> out = new ArrayList<>();
        Map<String, StringBuilder> current = new LinkedHashMap<>();
        StringBuilder field = null;
        for (String line : text.replace("\r", "").split("\n", -1)) {
            if (line.isBlank()) {
                if (!current.isEmpty()) {
                    out.add(strings(current));
                    current = new LinkedHashMap<>();
                }
                field = null;
            } else if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && field != null) {
                field.append('\n').append(line);
            } else if (line.charAt(0) != '#') {
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    field = null;
                    continue;
                }
                field = new StringBuilder(line.substring(colon + 1).strip());
                current.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), field);
            }
        }
        if (!current.isEmpty()) {
            out.add(strings(current));
        }
        return out;
    }

    private static Map<String, String> strings(Map<String, StringBuilder> fields) {
        Map<String, String> out = new LinkedHashMap<>();
        fields.forEach((k, v) -> out.put(k, v.toString()));
        return out;
    }
}
