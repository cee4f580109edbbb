package cairn.console.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

import cairn.platform.api.errors.InvalidInputException;

/** Sizes as operators type them on the console, and as the tables show them. */
public class VolumeSizesTest {

    @Test
    public void bytesAndBinarySuffixes() {
        assertEquals(4096, VolumeCommands.parseSize("4096"));
        assertEquals(512L << 20, VolumeCommands.parseSize("512M"));
        assertEquals(10L << 30, VolumeCommands.parseSize("10g"));
        assertEquals(1L << 40, VolumeCommands.parseSize("1TiB"));
        assertEquals(64L << 10, VolumeCommands.parseSize(" 64KB "));
    }

    @Test
    public void garbageNamesTheField() {
        for (String bad : new String[] { "", "ten", "1.5G", "-4096", "G", "99999999999T" }) {
            InvalidInputException e = assertThrows(bad, InvalidInputException.class, () -> VolumeCommands.parseSize(bad));
            assertEquals("size", e.field());
        }
    }

    @Test
    public void humanSizes() {
        assertEquals("4 KiB", VolumeCommands.human(4096));
        assertEquals("1.5 GiB", VolumeCommands.human(3L << 29));
        assertEquals("16 TiB", VolumeCommands.human(16L << 40));
    }
}
