package dev.kiln.image;

import dev.kiln.catalog.Stack;
import dev.kiln.catalog.SystemAccounts;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * The files Kiln writes itself, because maintainer scripts never run: the user database, dpkg's view of
 * the installed packages, and what {@code update-ca-certificates}, {@code ca-certificates-java},
 * {@code update-alternatives} and tzdata's {@code /etc/localtime} would have produced.
 */
final class SystemFiles {

    static final String CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt";
    static final String JAVA_CACERTS = "etc/ssl/certs/java/cacerts";
    static final String LOCALTIME = "etc/localtime";
    static final String UTC_ZONE = "usr/share/zoneinfo/Etc/UTC";

    private SystemFiles() {
    }

    /** The bottom layer: users, groups, name service switch, /tmp and the home directory. */
    static List<Item> base(Stack.User user, long mtime) {
        // the catalog refuses a user that collides with these, so no entry is there twice
        StringBuilder passwd = new StringBuilder();
        SystemAccounts.USERS.forEach(u -> passwd.append(u.line()).append('\n'));
        passwd.append(new SystemAccounts.User(user.name(), user.uid(), user.gid(), "/home/" + user.name()).line()).append('\n');
        StringBuilder group = new StringBuilder();
        SystemAccounts.GROUPS.forEach(g -> group.append(g.line()).append('\n'));
        group.append(new SystemAccounts.Group(user.name(), user.gid()).line()).append('\n');
        String nsswitch = """
                passwd:         files
                group:          files
                shadow:         files
                hosts:          files dns
                networks:       files
                protocols:      files
                services:       files
                ethers:         files
                rpc:            files
                """;
        List<Item> items = new ArrayList<>();
        items.add(Item.directory("etc", 0755, mtime));
        items.add(Item.file("etc/passwd", 0644, mtime, passwd.toString().getBytes(StandardCharsets.UTF_8)));
        items.add(Item.file("etc/group", 0644, mtime, group.toString().getBytes(StandardCharsets.UTF_8)));
        items.add(Item.file("etc/nsswitch.conf", 0644, mtime, nsswitch.getBytes(StandardCharsets.UTF_8)));
        items.add(Item.directory("home", 0755, mtime));
        // the one thing not owned by root: the user's own home, as in distroless
        items.add(new Item("home/" + user.name(), Item.Type.DIRECTORY, 0700, user.uid(), user.gid(), mtime, null, null));
        items.add(Item.directory("root", 0700, mtime));
        items.add(Item.directory("tmp", 01777, mtime));
        return items;
    }

    /**
     * {@code /var/lib/dpkg/status.d/NAME} and {@code NAME.md5sums}: the distroless layout that Trivy,
     * Grype, Syft and Clair read, so scanners see each package at its exact version.
     */
    static List<Item> status(StagedPackage pkg, List<Item> kept, long mtime) {
        String paragraph = pkg.control().paragraph();
        StringBuilder status = new StringBuilder();
        for (String line : paragraph.split("\n")) {
            status.append(line).append('\n');
            if (line.startsWith("Package:")) {
                status.append("Status: install ok installed\n");
            }
        }
        Set<String> paths = new java.util.HashSet<>();
        kept.forEach(i -> paths.add(i.path()));
        StringBuilder md5 = new StringBuilder();
        pkg.control().md5sums().forEach((path, sum) -> {
            if (paths.contains(StagedPackage.normalize(path))) {
                md5.append(sum).append("  ").append(StagedPackage.normalize(path)).append('\n');
            }
        });
        String dir = "var/lib/dpkg/status.d/";
        return List.of(
                Item.file(dir + pkg.name(), 0644, mtime, status.toString().getBytes(StandardCharsets.UTF_8)),
                Item.file(dir + pkg.name() + ".md5sums", 0644, mtime, md5.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The top layer: files derived from several packages at once. They carry Kiln's fixed time, not the
     * time of what they are made from, so the layer changes only when its content does: a JVM update
     * that keeps the tools' names leaves the alternatives links, and so this layer, as they were.
     */
    static List<Item> derived(Rootfs fs) {
        List<Item> items = new ArrayList<>();
        TreeMap<String, Item> certificates = new TreeMap<>();
        long mtime = Composer.BASE_TIME;
        for (Item item : fs.items()) {
            if (item.type() == Item.Type.FILE && item.path().startsWith("usr/share/ca-certificates/") && item.path().endsWith(".crt")) {
                certificates.put(item.path(), item);
            }
        }
        if (!certificates.isEmpty()) {
            ByteArrayOutputStream bundle = new ByteArrayOutputStream();
            try {
                for (Item cert : certificates.values()) {
                    byte[] pem = cert.content().read(0, (int) cert.size());
                    bundle.write(pem);
                    if (pem.length > 0 && pem[pem.length - 1] != '\n') {
                        bundle.write('\n');
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            byte[] pem = bundle.toByteArray();
            items.add(Item.file(CA_BUNDLE, 0644, mtime, pem));
            // what the excluded 'openssl' package would ship: OpenSSL's default CA file and directory
            boolean libssl = fs.items().stream().anyMatch(i -> Rootfs.name(i.path()).startsWith("libssl.so."));
            if (libssl && fs.get("usr/lib/ssl/cert.pem").isEmpty()) {
                items.add(Item.directory("usr/lib/ssl", 0755, mtime));
                items.add(Item.symlink("usr/lib/ssl/cert.pem", "/" + CA_BUNDLE, mtime));
                items.add(Item.symlink("usr/lib/ssl/certs", "/etc/ssl/certs", mtime));
            }
            boolean javaWantsCacerts = fs.items().stream()
                    .anyMatch(i -> i.type() == Item.Type.SYMLINK && ("/" + JAVA_CACERTS).equals(i.link()));
            if (javaWantsCacerts) {
                items.add(Item.directory("etc/ssl/certs/java", 0755, mtime));
                items.add(Item.file(JAVA_CACERTS, 0644, mtime, javaKeyStore(certificates, mtime)));
            }
        }
        items.addAll(alternatives(fs, mtime));
        // tzdata's postinst: /etc/localtime names the zone (UTC); tzdata's own zoneinfo/localtime points here
        if (fs.get(LOCALTIME).isEmpty() && fs.resolve(UTC_ZONE).filter(i -> i.type() == Item.Type.FILE).isPresent()) {
            items.add(Item.symlink(LOCALTIME, "/" + UTC_ZONE, mtime));
        }
        return items;
    }

    /** update-alternatives for JVMs: /usr/bin/TOOL → /etc/alternatives/TOOL → the newest JVM's tool. */
    private static List<Item> alternatives(Rootfs fs, long mtime) {
        TreeMap<String, String> tools = new TreeMap<>();
        fs.items().stream()
                .filter(i -> i.type() == Item.Type.FILE && (i.mode() & 0111) != 0)
                .filter(i -> i.path().matches("usr/lib/jvm/[^/]+/bin/[^/]+"))
                .sorted(Comparator.comparing(Item::path))
                .forEach(i -> tools.put(Rootfs.name(i.path()), "/" + i.path()));
        List<Item> items = new ArrayList<>();
        if (!tools.isEmpty()) {
            items.add(Item.directory("etc/alternatives", 0755, mtime));
        }
        tools.forEach((tool, target) -> {
            if (fs.get("usr/bin/" + tool).isEmpty()) {
                items.add(Item.symlink("etc/alternatives/" + tool, target, mtime));
                items.add(Item.symlink("usr/bin/" + tool, "/etc/alternatives/" + tool, mtime));
            }
        });
        return items;
    }

    /**
     * A JKS trust store (password {@code changeit}, as Debian's) written by hand: the JDK's own writer
     * stamps entries with the current time and PKCS#12 salts randomly, either of which would break
     * reproducible digests.
     */
    static byte[] javaKeyStore(TreeMap<String, Item> pemFiles, long mtime) {
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            List<String> aliases = new ArrayList<>();
            List<byte[]> encoded = new ArrayList<>();
            for (Item file : pemFiles.values()) {
                byte[] pem = file.content().read(0, (int) file.size());
                int n = 0;
                for (Certificate cert : factory.generateCertificates(new ByteArrayInputStream(pem))) {
                    String base = Rootfs.name(file.path()).replaceAll("\\.crt$", "").toLowerCase(java.util.Locale.ROOT);
                    aliases.add("debian:" + base + (n++ == 0 ? "" : "-" + n) + ".pem");
                    encoded.add(cert.getEncoded());
                }
            }
            out.writeInt(0xFEEDFEED);
            out.writeInt(2);
            out.writeInt(aliases.size());
            for (int i = 0; i < aliases.size(); i++) {
                out.writeInt(2); // trusted certificate entry
                out.writeUTF(aliases.get(i));
                out.writeLong(mtime * 1000);
                out.writeUTF("X.509");
                out.writeInt(encoded.get(i).length);
                out.write(encoded.get(i));
            }
            out.flush();
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            for (char c : "changeit".toCharArray()) {
                sha1.update((byte) (c >> 8));
                sha1.update((byte) c);
            }
            sha1.update("Mighty Aphrodite".getBytes(StandardCharsets.UTF_8));
            sha1.update(bytes.toByteArray());
            out.write(sha1.digest());
            out.flush();
            return bytes.toByteArray();
        } catch (IOException | CertificateException | NoSuchAlgorithmException e) {
            throw new ImageException("building the Java trust store from ca-certificates: " + e.getMessage());
        }
    }
}
