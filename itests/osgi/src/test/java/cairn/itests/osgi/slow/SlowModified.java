package cairn.itests.osgi.slow;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A component whose modified method does not return until the test says so (a JVM-wide
 * system property: the class runs in a bundle of its own), so the test can look at the
 * appliance while a new configuration is known to SCR but not yet taken by the component.
 * PlatformTest installs it as a bundle it builds.
 */
public class SlowModified {

    public static final String ENTERED = "cairn.itests.slow.entered";
    public static final String RELEASE = "cairn.itests.slow.release";

    public void activate(Map<String, Object> properties) {
        // nothing to set up
    }

    public void modified(Map<String, Object> properties) {
        System.setProperty(ENTERED, "true");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Boolean.getBoolean(RELEASE) && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }
}
