package cairn.platform.api.audit;

import java.time.Instant;

/**
 * One audited action.
 *
 * @param id     assigned by the log, 0 before it is recorded
 * @param at     when it happened
 * @param actor  the user (or "system") who asked
 * @param source where the request came from (an address, "ssh:addr", "local")
 * @param action a dotted verb such as {@code user.create} or {@code volume.attach}
 * @param target what it acted on (an id or name), may be empty
 * @param result {@code ok} or a short failure code
 * @param detail free text, may be empty
 */
public record AuditEntry(long id, Instant at, String actor, String source, String action, String target,
        String result, String detail) {

    /** A new entry to record now. */
    public static AuditEntry of(String actor, String source, String action, String target, String result,
            String detail) {
        return new AuditEntry(0, Instant.now(), actor, source, action, target, result, detail);
    }
}
