package dev.kiln.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TargetTest {

    @Test
    void targetsParseOnceIntoLocalEcrOrARegistry() {
        assertThat(Target.parse("local")).isEqualTo(Target.LOCAL);
        assertThat(Target.parse(null)).isEqualTo(Target.LOCAL);
        assertThat(Target.parse("ecr/platform")).isEqualTo(new Target.Ecr("platform"));
        assertThat(Target.parse("ecr")).isEqualTo(new Target.Ecr(""));
        assertThat(Target.parse("localhost:5000/ns/")).isEqualTo(new Target.Registry("localhost:5000", "ns"));
        assertThat(Target.parse("docker://registry.example.com")).isEqualTo(new Target.Registry("registry.example.com", ""));
        assertThat(Target.parse("localhost:5000/ns").toString()).isEqualTo("localhost:5000/ns");
        assertThat(Target.repository("platform", "golden/java")).isEqualTo("platform/golden/java");
    }

    @Test
    void onlyLoopbackRegistriesAreReachedOverPlainHttpWithoutAsking() {
        assertThat(((Target.Registry) Target.parse("localhost:5000")).loopback()).isTrue();
        assertThat(((Target.Registry) Target.parse("127.0.0.1:5000")).loopback()).isTrue();
        assertThat(((Target.Registry) Target.parse("[::1]:5000")).loopback()).isTrue();
        assertThat(((Target.Registry) Target.parse("registry.example.com")).loopback()).isFalse();
    }

    @Test
    void aTargetThatIsNotOneOfTheThreeFormsIsRefusedWithTheFormsNamed() {
        assertThatThrownBy(() -> Target.parse("https://x/y?z")).hasMessage(
                "target 'https://x/y?z': expected 'local', 'ecr[/NAMESPACE]' or HOST[:PORT][/NAMESPACE]");
        assertThatThrownBy(() -> Target.parse("localhost:5000/Upper Case")).hasMessage(
                "target 'localhost:5000/Upper Case': namespace 'Upper Case' is not a repository path (lower-case letters, digits, '.', '_', '-' and '/')");
    }
}
