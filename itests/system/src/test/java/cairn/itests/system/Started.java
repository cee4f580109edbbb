package cairn.itests.system;

import java.util.ArrayList;
import java.util.List;

/** What a test started (appliances, clients, tracers): closed after it, last started first. */
final class Started implements AutoCloseable {

    private final List<AutoCloseable> all = new ArrayList<>();

    void add(AutoCloseable c) {
        all.add(c);
    }

    @Override
    public void close() throws Exception {
        for (int i = all.size() - 1; i >= 0; i--) {
            all.get(i).close();
        }
        all.clear();
    }
}
