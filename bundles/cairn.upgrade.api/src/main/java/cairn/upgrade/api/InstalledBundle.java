package cairn.upgrade.api;

/**
 * An installed bundle as the upgrade surfaces show it.
 *
 * @param id              the framework's bundle id
 * @param symbolicName    its symbolic name
 * @param version         the version active now
 * @param state           {@code active}, {@code resolved}, {@code installed}, ...
 * @param previousVersion what {@link UpgradeService#rollback} would go back to, empty when nothing
 */
public record InstalledBundle(long id, String symbolicName, String version, String state, String previousVersion) {
}
