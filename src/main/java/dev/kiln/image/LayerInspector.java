package dev.kiln.image;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Measures one pushed layer (a gzip-compressed tar) as a reviewer would: every entry's owner and mode
 * from its tar header (setuid/setgid, not owned by root, writable by group or others), the shells and
 * package managers it holds, and every regular file's bytes scanned for private keys and access tokens.
 * What it reports is read from the bytes, never taken from the build's own report. Lists are capped at
 * {@link #MAX_LISTED} entries (the counts are exact), so a pathological layer cannot grow the record.
 *
 * <p>The secret scan is our own: the scanners that exist (gitleaks, trufflehog) are Go programs, and
 * the patterns a base image must never carry are few and well known. Each pattern has a literal anchor
 * found with {@link String#indexOf} (vectorised in the JDK) before a regular expression confirms the hit
 * around it, so the bytes are read at the speed of gunzip.
 */
public final class LayerInspector {

    public static final int MAX_LISTED = 100;
    private static final int CHUNK = 1 << 20;
    private static final int OVERLAP = 4096;

    private LayerInspector() {
    }

    /** An entry with an owner or mode worth naming: its path (absolute), owner and mode. */
    public record Entry(String path, int uid, int gid, String mode, String type) {
    }

    /** A secret found in a file: where, what kind, and the match with its middle masked. */
    public record Secret(String path, String kind, String masked) {
    }

    /**
     * What one layer holds, as measured. {@code *Count} are exact; the lists name at most
     * {@link #MAX_LISTED} each.
     */
    public record Facts(String digest, long entries, long files, long bytesScanned, List<Entry> setuid, long setuidCount,
                        List<Entry> notRootOwned, long notRootOwnedCount, List<Entry> writable, long writableCount,
                        List<String> shells, List<String> packageManagers, List<Secret> secrets, long secretCount) {
        public Facts {
            setuid = List.copyOf(setuid);
            notRootOwned = List.copyOf(notRootOwned);
            writable = List.copyOf(writable);
            shells = List.copyOf(shells);
            packageManagers = List.copyOf(packageManagers);
            secrets = List.copyOf(secrets);
        }
    }

    /** A kind of secret: a literal every match contains, and the pattern that confirms it. */
    private record Rule(String kind, String anchor, Pattern pattern) {
    }

    private static final List<Rule> RULES = List.of(
            // a PEM private key with its body: the header alone appears in libraries that parse keys
            new Rule("private key (PEM)", "PRIVATE KEY-----", Pattern.compile(
                    "-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----\\r?\\n(?:[A-Za-z0-9-]+: [^\\n]*\\r?\\n)*\\r?\\n?[A-Za-z0-9+/=]{40,}")),
            new Rule("private key (PuTTY)", "PuTTY-User-Key-File-", Pattern.compile("PuTTY-User-Key-File-[23]: [a-z0-9-]+\\r?\\nEncryption: ")),
            new Rule("AWS access key id", "AKIA", Pattern.compile("(?<![A-Z0-9])AKIA[0-9A-Z]{16}(?![A-Z0-9])")),
            new Rule("AWS access key id", "ASIA", Pattern.compile("(?<![A-Z0-9])ASIA[0-9A-Z]{16}(?![A-Z0-9])")),
            new Rule("AWS secret access key", "aws_secret_access_key", Pattern.compile(
                    "aws_secret_access_key\\s*[=:]\\s*[\"']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])", Pattern.CASE_INSENSITIVE)),
            new Rule("GitHub token", "ghp_", Pattern.compile("ghp_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
            new Rule("GitHub token", "gho_", Pattern.compile("gho_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
            new Rule("GitHub token", "ghs_", Pattern.compile("ghs_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
            new Rule("GitHub token", "ghu_", Pattern.compile("ghu_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
            new Rule("GitHub token", "github_pat_", Pattern.compile("github_pat_[A-Za-z0-9_]{82}")),
            new Rule("GitLab token", "glpat-", Pattern.compile("glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])")),
            new Rule("Slack token", "xox", Pattern.compile("xox[abposr]-[0-9]{6,}-[A-Za-z0-9-]{10,}")),
            new Rule("Stripe secret key", "sk_live_", Pattern.compile("sk_live_[0-9A-Za-z]{24,}")),
            new Rule("Google API key", "AIza", Pattern.compile("AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")));

    /** Reads the gzip-compressed tar {@code layer} to its end. */
    public static Facts inspect(String digest, InputStream layer) {
        Collector c = new Collector();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(new BufferedInputStream(layer, 1 << 16), 1 << 16))) {
            TarArchiveEntry entry;
            byte[] buffer = new byte[CHUNK + OVERLAP];
            while ((entry = tar.getNextEntry()) != null) {
                String path = normalize(entry.getName());
                if (path.isEmpty()) {
                    continue;
                }
                c.entries++;
                c.header(path, entry);
                if (entry.isFile()) {
                    c.files++;
                    scan(path, tar, buffer, c);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("layer " + digest + ": " + e.getMessage(), e);
        }
        return new Facts(digest, c.entries, c.files, c.bytes, c.setuid, c.setuidCount, c.notRoot, c.notRootCount, c.writable,
                c.writableCount, List.copyOf(c.shells), List.copyOf(c.managers), List.copyOf(c.secrets), c.secretCount);
    }

    /** Scans one file's bytes a chunk at a time; a chunk keeps the tail of the one before, so no match is cut in two. */
    private static void scan(String path, InputStream in, byte[] buffer, Collector c) throws IOException {
        int carried = 0;
        Set<String> found = new LinkedHashSet<>();
        while (true) {
            int read = in.readNBytes(buffer, carried, CHUNK);
            if (read <= 0) {
                break;
            }
            c.bytes += read;
            int length = carried + read;
            String text = new String(buffer, 0, length, StandardCharsets.ISO_8859_1);
            for (Rule rule : RULES) {
                for (int at = text.indexOf(rule.anchor()); at >= 0; at = text.indexOf(rule.anchor(), at + 1)) {
                    int from = Math.max(0, at - 64);
                    Matcher m = rule.pattern().matcher(text).region(from, Math.min(length, at + 8192));
                    if (m.find() && m.start() <= at + rule.anchor().length() && found.add(rule.kind() + " " + m.group())) {
                        c.secret(new Secret("/" + path, rule.kind(), mask(m.group())));
                    }
                }
            }
            if (read < CHUNK) {
                break;
            }
            carried = Math.min(OVERLAP, length);
            System.arraycopy(buffer, length - carried, buffer, 0, carried);
        }
    }

    /** Enough of a match to find it again, never enough to use it. */
    static String mask(String match) {
        String line = match.lines().findFirst().orElse(match);
        if (line.startsWith("-----BEGIN")) {
            return line;
        }
        return line.length() <= 8 ? "****" : line.substring(0, Math.min(6, line.length() / 3)) + "****" + line.substring(line.length() - 2);
    }

    static String normalize(String name) {
        String path = name;
        while (path.startsWith("./") || path.startsWith("/")) {
            path = path.substring(path.startsWith("./") ? 2 : 1);
        }
        return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    private static final class Collector {
        long entries;
        long files;
        long bytes;
        final List<Entry> setuid = new ArrayList<>();
        long setuidCount;
        final List<Entry> notRoot = new ArrayList<>();
        long notRootCount;
        final List<Entry> writable = new ArrayList<>();
        long writableCount;
        final Set<String> shells = new LinkedHashSet<>();
        final Set<String> managers = new LinkedHashSet<>();
        final List<Secret> secrets = new ArrayList<>();
        long secretCount;

        void header(String path, TarArchiveEntry entry) {
            int mode = entry.getMode() & 07777;
            String type = entry.isDirectory() ? "directory" : entry.isSymbolicLink() ? "symlink" : entry.isLink() ? "hardlink" : "file";
            Entry e = new Entry("/" + path, (int) entry.getLongUserId(), (int) entry.getLongGroupId(), Hardening.octal(mode), type);
            boolean symlink = entry.isSymbolicLink();
            if (!symlink && (mode & 06000) != 0) {
                setuidCount++;
                add(setuid, e);
            }
            if (entry.getLongUserId() != 0 || entry.getLongGroupId() != 0) {
                notRootCount++;
                add(notRoot, e);
            }
            if (!symlink && (mode & 022) != 0) {
                writableCount++;
                add(writable, e);
            }
            if (!entry.isDirectory() && Hardening.isShell(path) && shells.size() < MAX_LISTED) {
                shells.add("/" + path);
            }
            if (!entry.isDirectory() && Hardening.isPackageManager(path) && managers.size() < MAX_LISTED) {
                managers.add("/" + path);
            }
        }

        void secret(Secret s) {
            secretCount++;
            if (secrets.size() < MAX_LISTED) {
                secrets.add(s);
            }
        }

        private static void add(List<Entry> list, Entry e) {
            if (list.size() < MAX_LISTED) {
                list.add(e);
            }
        }
    }
}
