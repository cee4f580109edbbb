package cairn.nbd.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Named files as exports, for the protocol tests. */
final class FileCatalog implements ExportCatalog {

    final Map<String, Path> files = new ConcurrentHashMap<>();
    final Map<String, FileExport> opened = new ConcurrentHashMap<>();
    /** Who opened each export last. */
    final Map<String, Peer> peers = new ConcurrentHashMap<>();
    final AtomicInteger open = new AtomicInteger();
    volatile boolean readOnly;
    /** Exports opened from now on fail reads reaching this offset (see {@link FileExport#unreadableFrom}). */
    volatile long unreadableFrom = Long.MAX_VALUE;
    /** Whether exports opened from now on offer mapped memory (as the engine does for data in the page cache). */
    volatile boolean offerMapped = true;

    @Override
    public Export open(String name, Peer peer) throws ExportRefusal {
        Path p = files.get(name);
        if (p == null) {
            throw ExportRefusal.unknown("no such export");
        }
        try {
            FileExport e = new FileExport(name, p, open, readOnly);
            e.unreadableFrom = unreadableFrom;
            e.offerMapped = offerMapped;
            opened.put(name, e);
            peers.put(name, peer);
            return e;
        } catch (IOException e) {
            throw ExportRefusal.unknown(e.getMessage());
        }
    }

    @Override
    public List<String> list(Peer peer) {
        return null;
    }
}
