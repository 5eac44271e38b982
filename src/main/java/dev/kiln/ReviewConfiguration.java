package dev.kiln;

import dev.kiln.compliance.BuildCompliance;
import dev.kiln.compliance.DigestStatus;
import dev.kiln.compliance.EvidenceExport;
import dev.kiln.compliance.EvidenceView;
import dev.kiln.compliance.SignedEvidence;
import dev.kiln.compliance.UnsignedEvidence;
import dev.kiln.history.AuditChain;
import dev.kiln.history.AuditSearch;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.RemediationTimes;
import dev.kiln.history.WebhookDeliveries;
import dev.kiln.webhook.WebhookProperties;
import dev.kiln.webhook.WebhookSender;
import java.time.Clock;
import javax.sql.DataSource;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires what reviewers use (the console and the API's review endpoints): the build records and queries,
 * the evidence view, checklists, digest status, the evidence export, remediation times and the webhook
 * sender.
 */
@Configuration(proxyBeanMethods = false)
class ReviewConfiguration {

    @Bean
    BuildRecords buildRecords(DataSource dataSource) {
        return new BuildRecords(dataSource);
    }

    @Bean
    BuildQueries buildQueries(DataSource dataSource) {
        return new BuildQueries(dataSource);
    }

    @Bean
    AuditSearch auditSearch(DataSource dataSource) {
        return new AuditSearch(dataSource);
    }

    @Bean
    RemediationTimes remediationTimes(DataSource dataSource) {
        return new RemediationTimes(dataSource);
    }

    /** Signatures and attested documents from the signing records; an unsigned build's documents as generated (docs/console.md). */
    @Bean
    EvidenceView evidenceView(History history, BuildRecords records) {
        return new SignedEvidence(history, new UnsignedEvidence(records));
    }

    @Bean
    BuildCompliance buildCompliance(History history, BuildRecords records, EvidenceView evidence) {
        return new BuildCompliance(history, records, evidence);
    }

    @Bean
    DigestStatus digestStatus(History history, BuildQueries queries, BuildRecords records) {
        return new DigestStatus(history, queries, records);
    }

    @Bean
    EvidenceExport evidenceExport(BuildQueries queries, AuditChain chain, BuildCompliance compliance) {
        return new EvidenceExport(queries, chain, compliance, KilnConfiguration.kilnVersion());
    }

    @Bean
    WebhookDeliveries webhookDeliveries(DataSource dataSource) {
        return new WebhookDeliveries(dataSource);
    }

    @Bean(initMethod = "start", destroyMethod = "close")
    WebhookSender webhookSender(WebhookProperties properties, WebhookDeliveries deliveries, History history) {
        return new WebhookSender(properties, deliveries, history, KilnConfiguration.kilnVersion(), Clock.systemUTC());
    }
}
