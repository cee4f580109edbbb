package cairn.nbd.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** How the TLS mode is decided: typed configuration first, then the launcher's framework property. */
public class NbdComponentTest {

    @Test
    public void tlsIsOnUnlessSomethingSaysOff() {
        assertTrue(NbdComponent.tlsOn("default", null));
        assertTrue(NbdComponent.tlsOn("default", "on"));
        assertTrue(NbdComponent.tlsOn("", "anything"));
        assertFalse("the launcher's --nbd-tls off", NbdComponent.tlsOn("default", "off"));
        assertFalse(NbdComponent.tlsOn("default", " OFF "));
        assertFalse("configuration wins", NbdComponent.tlsOn("off", "on"));
        assertTrue("configuration wins", NbdComponent.tlsOn("on", "off"));
    }
}
