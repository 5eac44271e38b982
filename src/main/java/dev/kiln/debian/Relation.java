package dev.kiln.debian;

import java.util.ArrayList;
import java.util.List;

/**
 * One term of a Debian relationship field: {@code name[:arch] [(op version)]}. A dependency is a list of
 * alternatives ({@code a | b}); a field is a list of dependencies. Only binary-package syntax is read:
 * build profiles and architecture restrictions never appear in a Packages index.
 */
public record Relation(String name, String archQualifier, Operator operator, DebianVersion version) {

    public enum Operator {
        LT("<<"), LE("<="), EQ("="), GE(">="), GT(">>");

        private final String symbol;

        Operator(String symbol) {
            this.symbol = symbol;
        }

        boolean accepts(int comparison) {
            return switch (this) {
                case LT -> comparison < 0;
                case LE -> comparison <= 0;
                case EQ -> comparison == 0;
                case GE -> comparison >= 0;
                case GT -> comparison > 0;
            };
        }

        static Operator parse(String s) {
            return switch (s) {
                case "<<" -> LT;
                case "<=", "<" -> LE; // "<" and ">" are obsolete spellings of <= and >=
                case "=" -> EQ;
                case ">=", ">" -> GE;
                case ">>" -> GT;
                default -> throw new IllegalArgumentException("unknown version relation '" + s + "'");
            };
        }

        @Override
        public String toString() {
            return symbol;
        }
    }

    /** True when this relation has no version part, or {@code candidate} satisfies it. */
    public boolean acceptsVersion(DebianVersion candidate) {
        return operator == null || (candidate != null && operator.accepts(candidate.compareTo(version)));
    }

    /** Parses a whole field (Depends, Pre-Depends, Conflicts ...): comma-separated groups of alternatives. */
    public static List<List<Relation>> parseField(String field) {
        List<List<Relation>> groups = new ArrayList<>();
        if (field == null || field.isBlank()) {
            return groups;
        }
        for (String group : field.split(",")) {
            if (group.isBlank()) {
                continue;
            }
            List<Relation> alternatives = new ArrayList<>(2);
            for (String alternative : group.split("\\|")) {
                alternatives.add(parse(alternative));
            }
            groups.add(List.copyOf(alternatives));
        }
        return groups;
    }

    /** Parses one term, for example {@code libc6 (>= 2.38)} or {@code python3:any}. */
    public static Relation parse(String term) {
        String s = term.strip();
        String constraint = null;
        int paren = s.indexOf('(');
        if (paren >= 0) {
            int close = s.indexOf(')', paren);
            if (close < 0) {
                throw new IllegalArgumentException("unclosed '(' in '" + term + "'");
            }
            constraint = s.substring(paren + 1, close).strip();
            s = s.substring(0, paren).strip();
        }
        String arch = null;
        int colon = s.indexOf(':');
        if (colon >= 0) {
            arch = s.substring(colon + 1);
            s = s.substring(0, colon);
        }
        if (!validName(s)) {
            throw new IllegalArgumentException("invalid package name '" + s + "' in '" + term.strip() + "'");
        }
        if (constraint == null) {
            return new Relation(s, arch, null, null);
        }
        int i = 0;
        while (i < constraint.length() && "<>=".indexOf(constraint.charAt(i)) >= 0) {
            i++;
        }
        if (i == 0) {
            throw new IllegalArgumentException("missing version relation in '" + term.strip() + "'");
        }
        return new Relation(s, arch, Operator.parse(constraint.substring(0, i)),
                DebianVersion.parse(constraint.substring(i).strip()));
    }

    /** Debian policy 5.6.1: lower-case letters, digits, '+', '-' and '.', starting with a letter or digit. */
    private static boolean validName(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!alnum && (i == 0 || (c != '+' && c != '-' && c != '.'))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return name + (archQualifier == null ? "" : ":" + archQualifier)
                + (operator == null ? "" : " (" + operator + " " + version + ")");
    }
}
