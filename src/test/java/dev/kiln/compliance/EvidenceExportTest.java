package dev.kiln.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvidenceExportTest {

    private static String row(String... fields) throws Exception {
        StringWriter out = new StringWriter();
        EvidenceExport.row(out, List.of(fields));
        return out.toString();
    }

    @Test
    void csvQuotesWhatNeedsQuotingAndDisarmsFormulas() throws Exception {
        assertThat(row("1", "java", "a,b", "say \"hi\"", "two\nlines", "")).isEqualTo("1,java,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
        assertThat(row("=HYPERLINK(\"x\")", "+1", "@sum", "-12", "-3.5")).isEqualTo("\"'=HYPERLINK(\"\"x\"\")\",'+1,'@sum,-12,-3.5\r\n");
    }
}
