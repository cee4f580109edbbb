package cairn.itests.osgi;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * Waits for a condition inside the OSGi framework. Awaitility cannot be wired there:
 * it needs hamcrest 2, while the JUnit bundle exports hamcrest 1.3 and its packages'
 * uses constraints clash in the probe. The system tests, outside OSGi, use Awaitility.
 */
final class Eventually {

    private Eventually() {
    }

    static void await(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (Boolean.TRUE.equals(condition.call())) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            synchronized (Eventually.class) {
                Eventually.class.wait(50);
            }
        }
        AssertionError error = new AssertionError("timed out after " + timeout + " waiting for " + what);
        if (last != null) {
            error.initCause(last);
        }
        throw error;
    }
}
