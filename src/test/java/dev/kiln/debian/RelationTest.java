package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class RelationTest {

    @Test
    void parsesAlternativesVersionsAndArchitectureQualifiers() {
        List<List<Relation>> field = Relation.parseField("libc6 (>= 2.38), python3:any | python3-minimal (<< 3.14~), foo (>>1.0)");
        assertThat(field).hasSize(3);
        assertThat(field.get(0)).containsExactly(new Relation("libc6", null, Relation.Operator.GE, DebianVersion.parse("2.38")));
        assertThat(field.get(1)).extracting(Relation::toString).containsExactly("python3:any", "python3-minimal (<< 3.14~)");
        assertThat(field.get(2).get(0).operator()).isEqualTo(Relation.Operator.GT);
    }

    @Test
    void treatsTheObsoleteOperatorsAsDpkgDoes() {
        assertThat(Relation.parse("a (< 2)").operator()).isEqualTo(Relation.Operator.LE);
        assertThat(Relation.parse("a (> 2)").operator()).isEqualTo(Relation.Operator.GE);
    }

    @Test
    void checksVersionsWithEveryOperator() {
        DebianVersion v = DebianVersion.parse("2.0-1");
        assertThat(Relation.parse("a (<< 2.0-1)").acceptsVersion(v)).isFalse();
        assertThat(Relation.parse("a (<= 2.0-1)").acceptsVersion(v)).isTrue();
        assertThat(Relation.parse("a (= 2.0-1)").acceptsVersion(v)).isTrue();
        assertThat(Relation.parse("a (>= 2.0-1~)").acceptsVersion(v)).isTrue();
        assertThat(Relation.parse("a (>> 2.0)").acceptsVersion(v)).isTrue();
        assertThat(Relation.parse("a").acceptsVersion(v)).isTrue();
    }

    @Test
    void refusesMalformedTerms() {
        assertThatThrownBy(() -> Relation.parse("Foo")).hasMessage("invalid package name 'Foo' in 'Foo'");
        assertThatThrownBy(() -> Relation.parse("foo (>= 1")).hasMessage("unclosed '(' in 'foo (>= 1'");
        assertThatThrownBy(() -> Relation.parse("foo (1.0)")).hasMessage("missing version relation in 'foo (1.0)'");
    }
}
