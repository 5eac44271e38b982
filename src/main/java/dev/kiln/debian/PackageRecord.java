package dev.kiln.debian;

import java.util.List;

/**
 * One binary package stanza of a Packages index, reduced to what resolution and download need. The
 * relationship fields are kept as text and parsed on demand: most of the ~60,000 stanzas of an index
 * are never looked at by a resolution.
 */
public record PackageRecord(
        String name,
        DebianVersion version,
        String architecture,
        Origin origin,
        String filename,
        long size,
        String sha256,
        String priority,
        boolean essential,
        String multiArch,
        String preDepends,
        String depends,
        String provides,
        String conflicts,
        String breaks,
        String section) {

    /** Where a stanza came from: archive, suite, component. Shared by every stanza of one index. */
    public record Origin(String archiveUrl, String suite, String component) {
    }

    /** Pre-Depends then Depends: the groups that must be satisfied for this package to be unpacked and configured. */
    public List<List<Relation>> requirements() {
        List<List<Relation>> all = new java.util.ArrayList<>(Relation.parseField(preDepends));
        all.addAll(Relation.parseField(depends));
        return all;
    }

    /**
     * Whether this is a shared library package: in section libs (or oldlibs), or {@code Multi-Arch:
     * same}, which Debian gives packages whose files are loaded by programs of their architecture.
     */
    public boolean sharedLibrary() {
        String area = section == null ? "" : section.substring(section.indexOf('/') + 1);
        return area.equals("libs") || area.equals("oldlibs") || "same".equals(multiArch);
    }

    public String url() {
        return origin.archiveUrl() + "/" + filename;
    }

    @Override
    public String toString() {
        return name + " " + version + " (" + origin.suite() + ")";
    }
}
