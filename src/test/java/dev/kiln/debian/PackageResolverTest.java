package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PackageResolverTest {

    private final PackageResolver resolver = new PackageResolver();

    /** Builds an index from Packages stanzas, "Package: name" first; the suite is given per block. */
    private static PackageIndex index(String... suitesAndStanzas) {
        PackageIndex.Builder builder = PackageIndex.builder("amd64");
        for (int i = 0; i < suitesAndStanzas.length; i += 2) {
            String suite = suitesAndStanzas[i];
            StringBuilder text = new StringBuilder();
            for (String stanza : suitesAndStanzas[i + 1].split("\n\n")) {
                String name = stanza.lines().findFirst().orElseThrow().replace("Package: ", "");
                text.append(stanza.strip()).append('\n');
                if (!stanza.contains("Architecture:")) {
                    text.append("Architecture: amd64\n");
                }
                if (!stanza.contains("Version:")) {
                    text.append("Version: 1.0\n");
                }
                text.append("Filename: pool/").append(name).append(".deb\nSize: 100\nSHA256: ")
                        .append("0".repeat(64)).append("\n\n");
            }
            try {
                new PackagesParser(new PackageRecord.Origin("http://archive", suite, "main"))
                        .parse(new ByteArrayInputStream(text.toString().getBytes(StandardCharsets.UTF_8)), builder);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return builder.build();
    }

    private List<String> resolve(PackageIndex index, String packages, String... excludes) {
        PackageResolver.Resolution r = resolver.resolve(index, Arrays.stream(packages.split(",")).map(Relation::parse).toList(), Set.of(excludes));
        return r.packages().stream().map(p -> p.name() + "=" + p.version()).toList();
    }

    @Test
    void takesTheClosureOverDependsAndPreDependsAtTheNewestVersion() {
        PackageIndex index = index("trixie", """
                Package: app
                Pre-Depends: libc6 (>= 2.36)
                Depends: libssl3t64, tzdata

                Package: libc6
                Version: 2.41-12

                Package: libssl3t64
                Version: 3.5.1-1
                Depends: libc6 (>= 2.34)

                Package: tzdata
                Version: 2025b-4
                """, "trixie-security", """
                Package: libssl3t64
                Version: 3.5.1-1+deb13u1
                Depends: libc6 (>= 2.34)
                """);
        PackageResolver.Resolution r = resolver.resolve(index, List.of(Relation.parse("app")), Set.of());
        assertThat(r.packages()).extracting(p -> p.name() + "=" + p.version() + "@" + p.origin().suite())
                .containsExactly("app=1.0@trixie", "libc6=2.41-12@trixie", "libssl3t64=3.5.1-1+deb13u1@trixie-security", "tzdata=2025b-4@trixie");
        assertThat(r.wantedBy()).containsEntry("libssl3t64", "app").doesNotContainKey("app");
    }

    @Test
    void choosesTheFirstInstallableAlternative() {
        PackageIndex index = index("s", """
                Package: app
                Depends: missing | second | third

                Package: second

                Package: third
                """);
        assertThat(resolve(index, "app")).containsExactly("app=1.0", "second=1.0");
    }

    @Test
    void aPlainDependencySettlesAnEarlierAlternative() {
        // apt marks plain dependencies first, so "a | b" is satisfied by b that app needs anyway
        PackageIndex index = index("s", """
                Package: app
                Depends: a | b, b

                Package: a

                Package: b
                """);
        assertThat(resolve(index, "app")).containsExactly("app=1.0", "b=1.0");
    }

    @Test
    void skipsAnAlternativeWhoseNewestVersionIsTooOld() {
        PackageIndex index = index("s", """
                Package: app
                Depends: libfoo (>= 2.0) | libfoo-compat

                Package: libfoo
                Version: 1.9

                Package: libfoo-compat
                """);
        assertThat(resolve(index, "app")).containsExactly("app=1.0", "libfoo-compat=1.0");
    }

    @Test
    void satisfiesVirtualPackagesThroughProvides() {
        PackageIndex index = index("s", """
                Package: app
                Depends: mail-transport-agent, awk (>= 1.0)

                Package: postfix
                Priority: optional
                Provides: mail-transport-agent

                Package: exim4
                Priority: standard
                Provides: mail-transport-agent

                Package: mawk
                Provides: awk (= 1.3.4)
                """);
        // among providers the higher Priority wins, as apt's provider ordering does
        assertThat(resolve(index, "app")).containsExactly("app=1.0", "exim4=1.0", "mawk=1.0");
    }

    @Test
    void unversionedProvidesNeverSatisfiesAVersionedDependency() {
        PackageIndex index = index("s", """
                Package: app
                Depends: awk (>= 1.0)

                Package: original-awk
                Provides: awk
                """);
        assertThatThrownBy(() -> resolve(index, "app")).isInstanceOf(ResolutionException.class)
                .hasMessage("app → awk (>= 1.0): none in s");
    }

    @Test
    void honoursArchitectureQualifiers() {
        PackageIndex index = index("s", """
                Package: app
                Depends: python3:any, perl:any | perl-base

                Package: python3
                Multi-Arch: allowed

                Package: perl
                Multi-Arch: no

                Package: perl-base
                """);
        assertThat(resolve(index, "app")).containsExactly("app=1.0", "perl-base=1.0", "python3=1.0");
    }

    @Test
    void terminatesOnDependencyCycles() {
        PackageIndex index = index("s", """
                Package: jre
                Depends: ca-certificates-java

                Package: ca-certificates-java
                Depends: jre | java-runtime
                """);
        assertThat(resolve(index, "jre")).containsExactly("ca-certificates-java=1.0", "jre=1.0");
    }

    @Test
    void essentialPackagesComeOnlyWhenSomethingDependsOnThem() {
        PackageIndex index = index("s", """
                Package: app
                Depends: libc6

                Package: libc6

                Package: bash
                Essential: yes

                Package: coreutils
                Essential: yes
                """);
        assertThat(resolve(index, "app")).containsExactly("app=1.0", "libc6=1.0");
    }

    @Test
    void excludesDropDependenciesThatOnlyExcludedPackagesSatisfy() {
        PackageIndex index = index("s", """
                Package: ca-certificates
                Depends: openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0

                Package: openssl

                Package: debconf

                Package: cdebconf
                Provides: debconf-2.0
                """);
        PackageResolver.Resolution r = resolver.resolve(index, List.of(Relation.parse("ca-certificates")), Set.of("openssl", "debconf", "debconf-2.0"));
        assertThat(r.packages()).extracting(PackageRecord::name).containsExactly("ca-certificates");
        assertThat(r.dropped()).containsExactly(
                new PackageResolver.Dropped("ca-certificates", "openssl (>= 1.1.1)"),
                new PackageResolver.Dropped("ca-certificates", "debconf (>= 0.5) | debconf-2.0"));
        // excluding only debconf leaves the other alternative: a provider of debconf-2.0
        assertThat(resolve(index, "ca-certificates", "openssl", "debconf")).containsExactly("ca-certificates=1.0", "cdebconf=1.0");
    }

    @Test
    void namesTheWholeChainOfAnUnsatisfiableRequest() {
        PackageIndex index = index("trixie", """
                Package: python3
                Depends: libpython3.13

                Package: libpython3.13
                Depends: libssl3t64 (>= 3.5)

                Package: libssl3t64
                Version: 3.4.1-1
                """);
        assertThatThrownBy(() -> resolve(index, "python3")).isInstanceOf(ResolutionException.class)
                .hasMessage("python3 → libpython3.13 → libssl3t64 (>= 3.5): none in trixie (newest is 3.4.1-1 in trixie)");
    }

    @Test
    void collectsOneFailurePerRequestAndNamesWhichRequest() {
        PackageIndex index = index("trixie", """
                Package: tzdata
                """);
        ResolutionException e = (ResolutionException) org.assertj.core.api.Assertions.catchThrowable(
                () -> resolve(index, "openjdk-99-jre,tzdata,nope (>= 1)"));
        assertThat(e.failures()).containsExactly(
                new ResolutionException.Failure(0, "no package 'openjdk-99-jre' in trixie"),
                new ResolutionException.Failure(2, "no package 'nope' in trixie"));
    }

    @Test
    void explainsAlternativesThatAllFail() {
        PackageIndex index = index("s", """
                Package: app
                Depends: a (>= 2) | b

                Package: a
                """);
        assertThatThrownBy(() -> resolve(index, "app"))
                .hasMessage("app → a (>= 2) | b: a (>= 2): none in s (newest is 1.0 in s); b: none in s");
    }

    @Test
    void refusesAVirtualRequestWithSeveralProviders() {
        PackageIndex index = index("s", """
                Package: mawk
                Provides: awk

                Package: gawk
                Provides: awk
                """);
        assertThatThrownBy(() -> resolve(index, "awk")).hasMessage("'awk' is a virtual package provided by gawk, mawk: name the one to install");
    }

    @Test
    void anExplicitRequestMayPinAnOlderVersion() {
        PackageIndex index = index("s", """
                Package: tzdata
                Version: 2025a-1
                """, "s-updates", """
                Package: tzdata
                Version: 2025b-1
                """);
        assertThat(resolve(index, "tzdata (= 2025a-1)")).containsExactly("tzdata=2025a-1");
        assertThat(resolve(index, "tzdata")).containsExactly("tzdata=2025b-1");
    }

    @Test
    void reportsConflictsBetweenSelectedPackages() {
        PackageIndex index = index("s", """
                Package: a
                Conflicts: b (<< 2)

                Package: b
                """);
        assertThatThrownBy(() -> resolve(index, "a,b")).hasMessage("a 1.0 (s) conflicts with b 1.0 (s) (b (<< 2))");
    }

    @Test
    void aRequestAlsoExcludedIsRefused() {
        PackageIndex index = index("s", "Package: a");
        assertThatThrownBy(() -> resolve(index, "a", "a")).hasMessage("a: the stack also excludes it");
    }
}
