package cairn.platform.api.audit;

import java.time.Instant;

/**
 * A filter over the audit log; null fields do not filter. Results are newest first.
 *
 * @param from   inclusive lower bound on time
 * @param to     exclusive upper bound on time
 * @param actor  exact user
 * @param action exact action, or a prefix ending in '*' ({@code user.*})
 * @param offset entries to skip
 * @param limit  page size, 1..1000
 */
public record AuditQuery(Instant from, Instant to, String actor, String action, int offset, int limit) {

    public AuditQuery {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be 0 or more, was " + offset);
        }
        if (limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("limit must be between 1 and 1000, was " + limit);
        }
    }

    public static AuditQuery latest(int limit) {
        return new AuditQuery(null, null, null, null, 0, limit);
    }
}
