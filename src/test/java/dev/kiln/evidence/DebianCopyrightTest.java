package dev.kiln.evidence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.debian.Lock;
import dev.kiln.image.Composition;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DebianCopyrightTest {

    private static String spdx(String field) {
        return DebianCopyright.expression(field, new LinkedHashMap<>(), Map.of(), null);
    }

    @Test
    void debianShortNamesBecomeSpdxIdsFollowingDep5sConventions() {
        assertThat(spdx("GPL-2+")).isEqualTo("GPL-2.0-or-later");
        assertThat(spdx("GPL-2")).isEqualTo("GPL-2.0-only");
        assertThat(spdx("LGPL-2.1+")).isEqualTo("LGPL-2.1-or-later");
        assertThat(spdx("GFDL-NIV-1.3+")).isEqualTo("GFDL-1.3-no-invariants-or-later");
        assertThat(spdx("Expat")).isEqualTo("MIT");
        assertThat(spdx("BSD-3-clause")).isEqualTo("BSD-3-Clause");
        assertThat(spdx("Apache-2.0")).isEqualTo("Apache-2.0");
        assertThat(spdx("MPL-1.1+")).isEqualTo("MPL-1.1+");
        assertThat(spdx("Zope-2.1")).isEqualTo("ZPL-2.1");
        assertThat(spdx("GPL-2+ or Artistic")).isEqualTo("GPL-2.0-or-later OR Artistic-1.0-Perl");
        assertThat(spdx("LGPL-2.1+ and GPL-2+")).isEqualTo("LGPL-2.1-or-later AND GPL-2.0-or-later");
        assertThat(spdx("GPL-2+ or MIT, and ISC")).isEqualTo("(GPL-2.0-or-later OR MIT) AND ISC");
        assertThat(spdx("GPL-3+ with Autoconf-exception-3.0 exception")).isEqualTo("GPL-3.0-or-later WITH Autoconf-exception-3.0");
        // openjdk's copyright file
        assertThat(spdx("GPL2 with Classpath exception")).isEqualTo("GPL-2.0-only WITH Classpath-exception-2.0");
    }

    @Test
    void namesThatAreNoSpdxIdBecomeLicenceRefsWithTheFilesOwnText() {
        Map<String, String> refs = new LinkedHashMap<>();
        assertThat(DebianCopyright.expression("public-domain or GPL-2+ with OpenSSL exception", refs,
                Map.of("public-domain", " This is in the public domain.\n ."), null))
                .isEqualTo("LicenseRef-public-domain OR LicenseRef-GPL-2-with-OpenSSL-exception");
        assertThat(refs).containsEntry("LicenseRef-public-domain", "This is in the public domain.");
        assertThat(refs.get("LicenseRef-GPL-2-with-OpenSSL-exception")).contains("without giving its text");
    }

    @Test
    void aMachineReadableFileDeclaresEveryFilesParagraphsLicence() {
        DebianCopyright.Licence licence = DebianCopyright.read("""
                Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
                Upstream-Name: example

                Files: *
                Copyright: 2001-2026 Example Authors
                License: GPL-2+

                Files: lib/*
                Copyright: 2010 Someone Else
                 2011 A Third
                License: Expat

                Files: debian/*
                Copyright: 2026 A Debian Developer
                License: GPL-2+

                License: GPL-2+
                 On Debian systems, see /usr/share/common-licenses/GPL-2.
                """);
        assertThat(licence.expression()).isEqualTo("GPL-2.0-or-later AND MIT");
        assertThat(licence.copyright()).isEqualTo("2001-2026 Example Authors\n2010 Someone Else\n2011 A Third\n2026 A Debian Developer");
        assertThat(licence.refs()).isEmpty();
    }

    @Test
    void aFreeFormFileGivesTheLicencesItPointsToAndNoFileGivesNone() {
        DebianCopyright.Licence free = DebianCopyright.read("""
                This package was debianized by someone.
                It is licensed under the GNU General Public License; on Debian systems the complete text is in
                /usr/share/common-licenses/GPL-3 and the library's in /usr/share/common-licenses/LGPL-2.1.
                """);
        assertThat(free.expression()).isEqualTo("GPL-3.0-only AND LGPL-2.1-only");
        assertThat(free.comment()).contains("free-form");
        assertThat(DebianCopyright.read(null).expression()).isNull();
    }

    @Test
    void purlsSayVendorAndDistroFromTheReleaseAndTheSourceWhenItDiffers() {
        Lock.Release trixie = new Lock.Release("http://deb.debian.org/debian", "trixie", "trixie", "13.8", "2026-11-21T09:15:44Z", null,
                "Debian", "ab");
        Lock.Release updates = new Lock.Release("http://deb.debian.org/debian", "trixie-updates", "trixie-updates", "13-updates",
                "2026-11-21T09:15:44Z", null, "Debian", "cd");
        assertThat(Inventory.purl(pkg("libc6", "2.41-12", "glibc", "2.41-12"), trixie).canonicalize())
                .isEqualTo("pkg:deb/debian/libc6@2.41-12?arch=amd64&distro=debian-13&upstream=glibc");
        assertThat(Inventory.purl(pkg("zlib1g", "1:1.3.dfsg+really1.3.1-1+b1", "zlib", "1:1.3.dfsg+really1.3.1-1"), updates).canonicalize())
                .isEqualTo("pkg:deb/debian/zlib1g@1%3A1.3.dfsg%2Breally1.3.1-1%2Bb1?arch=amd64&distro=debian-13"
                        + "&upstream=zlib%401%3A1.3.dfsg%2Breally1.3.1-1");
        assertThat(Inventory.purl(pkg("tzdata", "2026a-1", "tzdata", "2026a-1"), trixie).canonicalize())
                .isEqualTo("pkg:deb/debian/tzdata@2026a-1?arch=amd64&distro=debian-13");
        Lock.Release ubuntu = new Lock.Release("http://archive.ubuntu.com/ubuntu", "noble", "noble", "24.04", "2026-11-21T09:15:44Z", null,
                "Ubuntu", null);
        assertThat(Inventory.purl(pkg("tzdata", "2026a-1", "tzdata", "2026a-1"), ubuntu).canonicalize())
                .isEqualTo("pkg:deb/ubuntu/tzdata@2026a-1?arch=amd64&distro=ubuntu-24");
    }

    @Test
    void maintainersAreOrganizationsOrPersons() {
        assertThat(Inventory.party("GNU Libc Maintainers <debian-glibc@lists.debian.org>").spdx())
                .isEqualTo("Organization: GNU Libc Maintainers (debian-glibc@lists.debian.org)");
        assertThat(Inventory.party("Mark Brown <broonie@debian.org>").spdx()).isEqualTo("Person: Mark Brown (broonie@debian.org)");
        assertThat(Inventory.party(null)).isNull();
    }

    private static Composition.Package pkg(String name, String version, String source, String sourceVersion) {
        return new Composition.Package(name, version, "amd64", "0".repeat(64), source, sourceVersion, "M <m@example.org>", null,
                "sha256:" + "1".repeat(64), List.of(), null);
    }
}
