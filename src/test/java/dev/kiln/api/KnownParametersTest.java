package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;

class KnownParametersTest {

    @Test
    void anUnknownParameterIsRefusedNamingWhatTheOperationTakes() {
        KnownParameters.check("stack=java&status=failed&page=0", Set.of("page", "stack", "status"));
        KnownParameters.check("&", Set.of());
        assertThatThrownBy(() -> KnownParameters.check("stack=java&statsu=failed", Set.of("stack", "status")))
                .isInstanceOf(ApiException.class).hasMessage("unknown parameter 'statsu' (this operation takes: stack, status)");
        assertThatThrownBy(() -> KnownParameters.check("x%3D=1", Set.of())).hasMessage("unknown parameter 'x=': this operation takes none");
    }

    @Test
    void theParametersOfAnOperationAreItsRequestParams() throws Exception {
        var method = new org.springframework.web.method.HandlerMethod(new Object(), ReviewApi.class.getDeclaredMethod("pins", String.class));
        assertThat(KnownParameters.taken(method)).containsExactly("stack");
    }
}
