package cairn.platform.api.audit;

import java.util.List;

/** One page of audit entries and the total that matched the query. */
public record AuditPage(List<AuditEntry> entries, long total, int offset, int limit) {

    public AuditPage {
        entries = List.copyOf(entries);
    }
}
