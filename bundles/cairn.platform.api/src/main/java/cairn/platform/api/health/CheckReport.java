package cairn.platform.api.health;

/** One named check in a {@link HealthReport}. */
public record CheckReport(String name, boolean ok, String message) {
}
