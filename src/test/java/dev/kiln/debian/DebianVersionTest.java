package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DebianVersionTest {

    /** Tricky pairs from dpkg's own test suite, deb-version(7) and versions seen in trixie. */
    static Stream<Arguments> pairs() {
        return Stream.of(
                pair("1.0", "<", "1.1"),
                pair("1.0", "<", "1.0-1"),
                pair("1.0-1", "<", "1.0-2"),
                pair("1.0~rc1", "<", "1.0"),
                pair("1.0~rc1-1", "<", "1.0-1"),
                pair("1.0~~", "<", "1.0~~a"),
                pair("1.0~~a", "<", "1.0~"),
                pair("1.0~", "<", "1.0"),
                pair("1.0", "<", "1.0a"),
                pair("1.0a", "<", "1.0+"),
                pair("1.0+", "<", "1.0."),
                pair("1:0.1", ">", "2.0"),
                pair("0:1.0", "=", "1.0"),
                pair("1.0-0", "=", "1.0"),
                pair("1.001", "=", "1.1"),
                pair("000.1", "=", "0.1"),
                pair("1.10", ">", "1.9"),
                pair("2.0", "<", "10"),
                pair("1.2.3", "<", "1.2.3.1"),
                pair("1.2.3a", "<", "1.2.3.1"),
                pair("7.6p2-4", ">", "7.6-0"),
                pair("1.0.3-3", ">", "1.0-1"),
                pair("1.3", ">", "1.2.2-2"),
                pair("1.3", ">", "1.2.2"),
                pair("0-pre", "=", "0-pre"),
                pair("0-pre", "<", "0-pree"),
                pair("1.1.6r2-2", ">", "1.1.6r-1"),
                pair("2.6b2-1", ">", "2.6b-2"),
                pair("98.1p5-1", "<", "98.1-pre2-b6-2"),
                pair("0.4a6-2", ">", "0.4-1"),
                pair("1:3.0.5-2", "<", "1:3.0.5.1"),
                pair("10.3", "<", "1:0.4"),
                pair("1:1.25-4", "<", "1:1.25-8"),
                pair("0:1.18.36", "=", "1.18.36"),
                pair("1.18.36", ">", "1.18.35"),
                pair("0:1.18.36", ">", "1.18.35"),
                pair("9:1.18.36:5.4-20", "<", "10:0.5.1-22"),
                pair("9:1.18.36:5.4-20", "<", "9:1.18.36:5.5-1"),
                pair("9:1.18.36:5.4-20", "<", "9:1.18.37:4.3-22"),
                pair("1.18.36-0.17.35-18", ">", "1.18.36-19"),
                pair("1:1.2.13-3", "<", "1:1.2.13-3.1"),
                pair("2.0.7pre1-4", "<", "2.0.7r-1"),
                pair("0:0-0-0", ">", "0-0"),
                pair("0:0:0-0", ">", "0:0-0"),
                pair("2.4.1-1", "<", "2.4.1-1+deb13u1"),
                pair("2.41-12+deb13u4", ">", "2.41-12"),
                pair("3.5.7-1~deb13u3", "<", "3.5.7-1"),
                pair("3.5.7-1~deb13u3", ">", "3.5.7-1~deb13u2"),
                pair("1:1.3.dfsg+really1.3.1-1+deb13u1", ">", "1:1.3.dfsg+really1.3.1-1"),
                pair("1:1.3.dfsg+really1.3.1-1", ">", "1.4"),
                pair("21.0.13.1+2-1~deb13u1", ">", "21.0.12.1+1-1~deb13u1"),
                pair("2026f-0+deb13u1", ">", "2026e-0+deb13u1"),
                pair("2025b-4+deb13u1", "<", "2026a-0+deb13u1"),
                pair("1.0+dfsg-1", ">", "1.0-1"),
                pair("1.0~dfsg-1", "<", "1.0-1"),
                pair("8.2-6", "<", "8.2-6+b1"),
                pair("4.36-1", "<", "2:4.36-1"),
                pair("6.5+20250216-2", ">", "6.5-2"),
                pair("1.22.22", ">", "1.22.9"),
                pair("0.8.5-4+b1", ">", "0.8.5-4"),
                pair("3.46.1-7+deb13u2", ">", "3.46.1-7+deb13u1"),
                pair("1.0a~", "<", "1.0a"),
                pair("1.0-1ubuntu1", ">", "1.0-1"),
                pair("1.0-1ubuntu1", "<", "1.0-1.1"),
                pair("1.0-1", "=", "1.0-1"),
                pair("5.3.28+dfsg2-9", ">", "5.3.28+dfsg1-0.10"),
                pair("2.9.0-1~deb13u1", ">", "2.7.1-1"),
                pair("1:4.0.2-2+deb13u1", ">", "1:4.0.2-2"));
    }

    private static Arguments pair(String a, String op, String b) {
        return Arguments.of(a, op, b);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("pairs")
    void ordersLikeDpkg(String a, String op, String b) {
        int expected = switch (op) {
            case "<" -> -1;
            case ">" -> 1;
            default -> 0;
        };
        assertThat(Integer.signum(DebianVersion.parse(a).compareTo(DebianVersion.parse(b)))).isEqualTo(expected);
        assertThat(Integer.signum(DebianVersion.parse(b).compareTo(DebianVersion.parse(a)))).isEqualTo(-expected);
    }

    @Test
    void theTableHasAtLeastFiftyPairs() {
        assertThat(pairs().count()).isGreaterThanOrEqualTo(50);
    }

    /** The table is checked against the real dpkg too, so a wrong expectation cannot hide. */
    @ParameterizedTest(name = "dpkg agrees: {0} {1} {2}")
    @MethodSource("pairs")
    void dpkgItselfAgreesWithTheTable(String a, String op, String b) throws IOException, InterruptedException {
        String relation = switch (op) {
            case "<" -> "lt";
            case ">" -> "gt";
            default -> "eq";
        };
        Process p = new ProcessBuilder(List.of("dpkg", "--compare-versions", a, relation, b)).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).as("dpkg --compare-versions %s %s %s", a, relation, b).isZero();
    }

    @Test
    void printsTheVersionItParsed() {
        assertThat(DebianVersion.parse("1:2.0~rc1-3+b1")).hasToString("1:2.0~rc1-3+b1");
        assertThat(DebianVersion.parse("1:2.0~rc1-3+b1")).isEqualTo(new DebianVersion(1, "2.0~rc1", "3+b1"));
    }

    @Test
    void rejectsWhatDpkgRejects() {
        assertThatThrownBy(() -> DebianVersion.parse("")).hasMessage("empty version");
        assertThatThrownBy(() -> DebianVersion.parse("a:1.0")).hasMessage("bad epoch in version 'a:1.0'");
        assertThatThrownBy(() -> DebianVersion.parse("1.0 beta")).hasMessage("invalid character ' ' in version '1.0 beta'");
        assertThatThrownBy(() -> DebianVersion.parse("1:-1")).hasMessage("empty upstream version in '1:-1'");
    }
}
