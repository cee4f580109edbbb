package cairn.upgrade.api;

import java.util.List;

/**
 * What an upgrade would do: the validated jar and its impact.
 *
 * @param symbolicName   the bundle the jar replaces
 * @param fromVersion    the version installed now
 * @param toVersion      the version of the jar
 * @param signedBy       subject of the trusted certificate that signed the jar, empty when unsigned
 * @param affectedBundles other bundles a refresh would restart (empty for implementation bundles)
 * @param problems       reasons it would be refused as asked; empty when it may go ahead
 */
public record UpgradePlan(String symbolicName, String fromVersion, String toVersion, String signedBy,
        List<String> affectedBundles, List<String> problems) {

    public UpgradePlan {
        affectedBundles = List.copyOf(affectedBundles);
        problems = List.copyOf(problems);
    }

    public boolean allowed() {
        return problems.isEmpty();
    }
}
