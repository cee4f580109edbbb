package cairn.console.api;

/** Configuration PIDs of the console, kept here so stored configuration survives a refactor. */
public final class ConsolePids {

    /** The SSH listener: idle and authentication timeouts (DATA/etc/cairn.console.ssh.cfg). */
    public static final String SSH = "cairn.console.ssh";

    private ConsolePids() {
    }
}
