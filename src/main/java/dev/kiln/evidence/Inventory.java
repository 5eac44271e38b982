package dev.kiln.evidence;

import com.github.packageurl.MalformedPackageURLException;
import com.github.packageurl.PackageURL;
import dev.kiln.debian.Lock;
import dev.kiln.image.Composition;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an image is made of, as both SBOMs describe it, worked out once per build: each Debian package with
 * its purl, supplier, licence and the archive file it came from; each file Kiln made itself with what it
 * was made from; the image's own purl.
 */
final class Inventory {

    /** A Debian package in the image, with the lock entry it was fetched by and the Release it came through. */
    record Deb(Composition.Package pkg, Lock.Package locked, Lock.Release release, PackageURL purl, Party supplier,
               DebianCopyright.Licence licence) {
    }

    /** A person or an organization, from a Maintainer field ({@code Name <email>}). */
    record Party(String name, String email, boolean organization) {
        /** SPDX's form: {@code Organization: NAME (EMAIL)}. */
        String spdx() {
            return (organization ? "Organization: " : "Person: ") + name + (email == null ? "" : " (" + email + ")");
        }
    }

    /** A file Kiln wrote: what it is, and the packages it was made from (none for the user database). */
    record KilnFile(Composition.FileEntry entry, String what, List<String> madeFrom) {
    }

    private static final Pattern MAINTAINER = Pattern.compile("\\s*(.*?)\\s*<([^>]*)>\\s*");
    private static final Pattern TEAM = Pattern.compile("(?i).*\\b(maintainers|team|developers|project|group|debian|packagers|uploaders)\\b.*");

    final List<Deb> debs;
    final List<KilnFile> kilnFiles;
    /** Every LicenseRef any package uses → its text; a name two packages use with different texts is made unique. */
    final Map<String, String> licenceRefs;
    final PackageURL imagePurl;

    private Inventory(List<Deb> debs, List<KilnFile> kilnFiles, Map<String, String> licenceRefs, PackageURL imagePurl) {
        this.debs = debs;
        this.kilnFiles = kilnFiles;
        this.licenceRefs = licenceRefs;
        this.imagePurl = imagePurl;
    }

    static Inventory of(BuildFacts facts) {
        Libraries.load();
        Map<String, Lock.Package> locked = new HashMap<>();
        facts.lock().packages().forEach(p -> locked.put(p.name(), p));
        Map<String, String> refs = new TreeMap<>();
        List<Deb> debs = new ArrayList<>();
        for (Composition.Package p : facts.composition().packages()) {
            Lock.Package lp = locked.get(p.name());
            if (lp == null || !lp.sha256().equals(p.sha256())) {
                throw new EvidenceException(facts.stackName() + ": package " + p.name() + " of the image is not in the lock as built ("
                        + (lp == null ? "missing" : "SHA-256 " + lp.sha256() + " there, " + p.sha256() + " in the image") + ")");
            }
            Lock.Release release = release(facts.lock(), lp);
            DebianCopyright.Licence licence = unique(DebianCopyright.read(p.copyright()), refs);
            debs.add(new Deb(p, lp, release, purl(p, release), party(p.maintainer()), licence));
        }
        return new Inventory(List.copyOf(debs), kilnFiles(facts.composition()), refs, imagePurl(facts));
    }

    /** The Release a package was resolved through: same suite, its URL under the archive's. */
    private static Lock.Release release(Lock lock, Lock.Package p) {
        for (Lock.Release r : lock.releases()) {
            if (r.suite().equals(p.suite()) && p.url().startsWith(r.url() + "/")) {
                return r;
            }
        }
        return lock.releases().stream().filter(r -> r.suite().equals(p.suite())).findFirst().orElse(null);
    }

    /**
     * {@code pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-13}, and {@code upstream=SOURCE[@VERSION]}
     * when the source differs from the binary package, as syft writes it (scanners match Debian's security
     * data by source package). Vendor and distro come from the Release the package was resolved through
     * (Origin, Version's major number, else Codename); a lock written before Kiln recorded the Origin says
     * {@code debian}.
     */
    static PackageURL purl(Composition.Package p, Lock.Release release) {
        String vendor = release == null || release.origin() == null ? "debian"
                : release.origin().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.]+", "-").replaceAll("(^-|-$)", "");
        TreeMap<String, String> qualifiers = new TreeMap<>();
        qualifiers.put("arch", p.architecture());
        if (release != null) {
            String major = release.version() == null ? "" : release.version().replaceFirst("^([0-9]+).*$", "$1");
            String distro = major.matches("[0-9]+") ? major : release.codename();
            if (distro != null && !distro.isBlank()) {
                qualifiers.put("distro", vendor + "-" + distro);
            }
        }
        boolean otherSource = !p.source().equals(p.name());
        boolean otherVersion = p.sourceVersion() != null && !p.sourceVersion().equals(p.version());
        if (otherSource || otherVersion) {
            qualifiers.put("upstream", p.source() + (otherVersion ? "@" + p.sourceVersion() : ""));
        }
        try {
            return new PackageURL("deb", vendor, p.name(), p.version(), qualifiers, null);
        } catch (MalformedPackageURLException e) {
            throw new EvidenceException("package " + p.name() + " " + p.version() + ": no valid purl: " + e.getMessage(), e);
        }
    }

    /** {@code pkg:oci/NAME@DIGEST?repository_url=REPOSITORY&tag=TAG} (purl-spec's OCI type). */
    private static PackageURL imagePurl(BuildFacts facts) {
        String repository = facts.repository();
        String name = repository.substring(repository.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        TreeMap<String, String> qualifiers = new TreeMap<>();
        qualifiers.put("repository_url", repository);
        if (facts.tag() != null) {
            qualifiers.put("tag", facts.tag());
        }
        try {
            return new PackageURL("oci", null, name, facts.digest(), qualifiers, null);
        } catch (MalformedPackageURLException e) {
            throw new EvidenceException("image " + repository + "@" + facts.digest() + ": no valid purl: " + e.getMessage(), e);
        }
    }

    static Party party(String maintainer) {
        if (maintainer == null || maintainer.isBlank()) {
            return null;
        }
        Matcher m = MAINTAINER.matcher(maintainer);
        String name = m.matches() ? m.group(1) : maintainer.strip();
        String email = m.matches() ? m.group(2) : null;
        boolean organization = TEAM.matcher(name).matches() || email != null && email.contains("@lists.");
        // SPDX's agent syntax has no room for parentheses inside the name
        return new Party(name.replace('(', '[').replace(')', ']'), email, organization);
    }

    /** The licence with any LicenseRef another package already uses for a different text renamed after its text. */
    private static DebianCopyright.Licence unique(DebianCopyright.Licence licence, Map<String, String> refs) {
        String expression = licence.expression();
        for (Map.Entry<String, String> ref : licence.refs().entrySet()) {
            String id = ref.getKey();
            String existing = refs.get(id);
            if (existing != null && !existing.equals(ref.getValue())) {
                String renamed = id + "-" + sha256(ref.getValue()).substring(0, 8);
                expression = expression.replaceAll(Pattern.quote(id) + "(?![A-Za-z0-9.-])", renamed);
                id = renamed;
            }
            refs.put(id, ref.getValue());
        }
        return new DebianCopyright.Licence(expression, Map.of(), licence.copyright(), licence.comment());
    }

    private static List<KilnFile> kilnFiles(Composition composition) {
        Map<String, String> owner = new HashMap<>();
        TreeSet<String> certificates = new TreeSet<>();
        for (Composition.Package p : composition.packages()) {
            for (String file : p.files()) {
                owner.put(file, p.name());
                if (file.startsWith("/usr/share/ca-certificates/") && file.endsWith(".crt")) {
                    certificates.add(p.name());
                }
            }
        }
        Map<String, Composition.FileEntry> kiln = new LinkedHashMap<>();
        composition.kilnEntries().forEach(e -> kiln.put(e.path(), e));
        List<KilnFile> out = new ArrayList<>();
        for (Composition.FileEntry e : composition.kilnEntries()) {
            String path = e.path();
            String status = "/var/lib/dpkg/status.d/";
            if (path.startsWith(status)) {
                String name = path.substring(status.length()).replaceFirst("\\.md5sums$", "");
                out.add(new KilnFile(e, path.endsWith(".md5sums") ? "the MD5 sums of " + name + "'s files in the image, for scanners"
                        : "dpkg's status of " + name + ", for scanners (no package manager runs in the image)", List.of(name)));
            } else if (path.equals("/etc/passwd") || path.equals("/etc/group") || path.equals("/etc/nsswitch.conf")) {
                out.add(new KilnFile(e, "the user database: root, nobody and the stack's user", List.of()));
            } else if (path.equals("/etc/ssl/certs/ca-certificates.crt")) {
                out.add(new KilnFile(e, "the CA bundle, as update-ca-certificates writes it", List.copyOf(certificates)));
            } else if (path.equals("/etc/ssl/certs/java/cacerts")) {
                out.add(new KilnFile(e, "the Java trust store of the same certificates, as ca-certificates-java writes it",
                        List.copyOf(certificates)));
            } else if (e.symlink()) {
                String target = e.link().startsWith("/") ? e.link() : parent(path) + "/" + e.link();
                for (int hops = 0; hops < 8 && kiln.containsKey(target) && kiln.get(target).symlink(); hops++) {
                    String next = kiln.get(target).link();
                    target = next.startsWith("/") ? next : parent(target) + "/" + next;
                }
                String from = owner.get(target);
                out.add(new KilnFile(e, "a link to " + e.link() + ", as update-alternatives or a maintainer script would make it",
                        from == null ? List.of() : List.of(from)));
            } else {
                out.add(new KilnFile(e, "made by Kiln", List.of()));
            }
        }
        return List.copyOf(out);
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "" : path.substring(0, slash);
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
