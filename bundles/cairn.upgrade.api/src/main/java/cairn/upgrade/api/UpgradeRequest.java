package cairn.upgrade.api;

import java.util.Objects;

/**
 * Who asks for an upgrade, from where, and what they allow.
 *
 * @param actor   the user name, or {@code system} for the deploy folder
 * @param source  where the request came from ({@code rest:addr}, {@code ssh:addr}, {@code deploy:file})
 * @param force   allow the same or a lower version
 * @param confirm go ahead even when other bundles must be refreshed (restarted)
 */
public record UpgradeRequest(String actor, String source, boolean force, boolean confirm) {

    public UpgradeRequest {
        Objects.requireNonNull(actor, "actor");
        Objects.requireNonNull(source, "source");
    }
}
