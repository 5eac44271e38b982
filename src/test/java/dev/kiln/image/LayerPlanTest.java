package dev.kiln.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LayerPlanTest {

    private static final long MB = 1 << 20;

    @Test
    void fewPackagesGetALayerEach() {
        LayerPlan plan = LayerPlan.plan(Map.of("b", 10L, "a", 5 * MB), 20, MB);
        assertThat(plan.groups()).extracting(LayerPlan.Group::packages).containsExactly(List.of("a"), List.of("b"));
    }

    @Test
    void manyPackagesStayWithinTheBudgetWithLargeOnesAlone() {
        Map<String, Long> sizes = sizes(40);
        sizes.put("big-1", 40 * MB);
        sizes.put("big-2", 20 * MB);
        LayerPlan plan = LayerPlan.plan(sizes, 10, MB);
        assertThat(plan.groups().size() + LayerPlan.KILN_LAYERS).isLessThanOrEqualTo(10);
        assertThat(plan.groups()).filteredOn(g -> g.packages().contains("big-1")).singleElement()
                .extracting(LayerPlan.Group::packages).isEqualTo(List.of("big-1"));
        assertThat(plan.groups().stream().mapToInt(g -> g.packages().size()).sum()).isEqualTo(42);
    }

    @Test
    void aVersionUpdateMovesNoPackageAndAnAddedSmallPackageChangesOneGroup() {
        Map<String, Long> sizes = sizes(30);
        LayerPlan before = LayerPlan.plan(sizes, 8, MB);
        sizes.put("pkg-7", sizes.get("pkg-7") + 100); // a new version, slightly larger
        assertThat(LayerPlan.plan(sizes, 8, MB)).isEqualTo(before);
        sizes.put("newcomer", 1000L);
        LayerPlan after = LayerPlan.plan(sizes, 8, MB);
        long changed = after.groups().stream().filter(g -> !before.groups().contains(g)).count();
        assertThat(changed).isEqualTo(1);
    }

    @Test
    void aBudgetTooSmallForKilnsOwnLayersIsRefused() {
        assertThatThrownBy(() -> LayerPlan.plan(Map.of("a", 1L), 2, MB)).hasMessageContaining("at least 3");
    }

    private static Map<String, Long> sizes(int n) {
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            sizes.put("pkg-" + i, 10_000L + i);
        }
        return sizes;
    }
}
