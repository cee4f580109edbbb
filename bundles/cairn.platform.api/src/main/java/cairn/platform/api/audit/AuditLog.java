package cairn.platform.api.audit;

import org.osgi.annotation.versioning.ProviderType;

/** Append-only record of every mutating operation, kept in the metadata store. */
@ProviderType
public interface AuditLog {

    /** Stores the entry durably before returning it with its id. */
    AuditEntry record(AuditEntry entry);

    AuditPage query(AuditQuery query);
}
