package cairn.console.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.console.api.RequiredRole;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Role;

/** {@code audit:tail}: the latest audit entries, oldest first so they read like a log. */
@Component(service = AuditCommands.class)
@GogoCommand(scope = "audit", function = "tail")
public class AuditCommands {

    private final AuditLog audit;

    @Activate
    public AuditCommands(@Reference AuditLog audit) {
        this.audit = audit;
    }

    @RequiredRole(value = Role.ADMIN, readOnly = true)
    @Descriptor("show the latest audit entries")
    public List<AuditEntry> tail(
            @Descriptor("how many entries, 1 to 1000") @Parameter(names = { "-n", "--lines" }, absentValue = "20") int lines,
            @Descriptor("only this user's actions") @Parameter(names = "--actor", absentValue = "") String actor,
            @Descriptor("only this action, or a prefix ending in * (user.*)") @Parameter(names = "--action", absentValue = "") String action) {
        if (lines < 1 || lines > 1000) {
            throw new InvalidInputException("lines", "must be between 1 and 1000, was " + lines);
        }
        List<AuditEntry> entries = new ArrayList<>(audit.query(new AuditQuery(null, null, blankToNull(actor),
                blankToNull(action), 0, lines)).entries());
        Collections.reverse(entries);
        return entries;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}
