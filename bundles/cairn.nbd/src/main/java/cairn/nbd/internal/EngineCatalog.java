package cairn.nbd.internal;

import java.io.IOException;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.blockstore.api.AttachmentFencedException;
import cairn.blockstore.api.EngineUnavailableException;
import cairn.blockstore.api.ExportRefusedException;
import cairn.blockstore.api.VolumeService;

/**
 * Exports are attachments of the engine. Over TLS the client certificate names the
 * attachment; without TLS (lab mode, or the unix socket) the unguessable export name is
 * the only credential, so names are never listed to such clients.
 */
final class EngineCatalog implements ExportCatalog {

    private static final Logger LOG = LoggerFactory.getLogger(EngineCatalog.class);

    private final EngineGate<VolumeService> gate;
    private final long waitMillis;

    EngineCatalog(EngineGate<VolumeService> gate, long waitMillis) {
        this.gate = gate;
        this.waitMillis = waitMillis;
    }

    @Override
    public Export open(String name, Peer peer) throws ExportRefusal {
        try {
            return EngineExport.open(gate, name, peer.certificate(), waitMillis);
        } catch (ExportRefusedException e) {
            // vague on purpose: export names must not be probeable
            LOG.info("NBD export refused for {}: {}", peer.address(), e.getMessage());
            throw ExportRefusal.unknown("no such export");
        } catch (AttachmentFencedException e) {
            LOG.info("NBD export refused for {}: attachment {} fenced", peer.address(), e.attachmentId());
            throw ExportRefusal.policy("this attachment has ended: attach again");
        } catch (EngineUnavailableException e) {
            throw ExportRefusal.shutdown("storage engine unavailable, try again");
        } catch (IOException e) {
            LOG.warn("NBD export open failed for {}: {}", peer.address(), e.toString());
            throw ExportRefusal.unknown("export cannot be opened");
        }
    }

    @Override
    public List<String> list(Peer peer) {
        if (!peer.tls()) {
            return null;
        }
        VolumeService service = gate.current();
        if (service == null) {
            return List.of();
        }
        return service.exportFor(peer.certificate()).map(List::of).orElse(List.of());
    }
}
