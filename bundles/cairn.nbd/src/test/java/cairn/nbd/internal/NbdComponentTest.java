package cairn.nbd.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** How the settings are decided: typed configuration first, then the launcher's framework property. */
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

    @Test
    public void tlsWriteHandoffFollowsTheSettingOrTheCores() {
        assertTrue(NbdComponent.tlsWriteHandoff("on"));
        assertFalse(NbdComponent.tlsWriteHandoff(" OFF"));
        boolean spareCore = Runtime.getRuntime().availableProcessors() > 2;
        assertEquals(spareCore, NbdComponent.tlsWriteHandoff("auto"));
        assertEquals(spareCore, Limits.defaultTlsWriteHandoff());
        assertEquals("an unknown value is 'auto'", spareCore, NbdComponent.tlsWriteHandoff("sometimes"));
    }

    @Test
    public void unixReadsAreCopiedUnlessSendfileIsChosen() {
        assertFalse(NbdComponent.unixSendfile("copy"));
        assertTrue(NbdComponent.unixSendfile(" SendFile "));
        assertFalse("unset is 'copy'", NbdComponent.unixSendfile(null));
        assertFalse("an unknown value is 'copy'", NbdComponent.unixSendfile("splice"));
    }
}
