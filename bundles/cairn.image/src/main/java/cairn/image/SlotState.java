package cairn.image;

import java.util.Map;

/**
 * What the slots hold, as the next start would see it.
 *
 * @param active   the slot booted when nothing is pending ({@code a} or {@code b})
 * @param pending  the slot staged for the next start, or null
 * @param trial    the slot booted on trial and not yet healthy, or null
 * @param versions the image version per slot that holds an image ({@code a} holds the
 *                 installed image until something is staged into it)
 * @param bad      per slot marked bad, the reason
 */
public record SlotState(String active, String pending, String trial, Map<String, String> versions,
        Map<String, String> bad) {

    public SlotState {
        versions = Map.copyOf(versions);
        bad = Map.copyOf(bad);
    }
}
