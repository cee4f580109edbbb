package cairn.blockstore.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.blockstore.api.AttachResult;
import cairn.blockstore.api.Attachment;
import cairn.blockstore.api.AttachmentFencedException;
import cairn.blockstore.api.AttachmentState;
import cairn.blockstore.api.BlockstoreConstants;
import cairn.blockstore.api.ChangedBlocks;
import cairn.blockstore.api.EngineUnavailableException;
import cairn.blockstore.api.ExportRefusedException;
import cairn.blockstore.api.Standby;
import cairn.blockstore.api.TlsCredentials;
import cairn.blockstore.api.Volume;
import cairn.blockstore.api.VolumeChannel;
import cairn.blockstore.api.VolumeMirror;
import cairn.blockstore.api.VolumeService;
import cairn.blockstore.api.VolumeState;
import cairn.blockstore.api.VolumeStats;
import cairn.blockstore.api.VolumeView;
import cairn.blockstore.api.tls.FleetCertificateAuthority;
import cairn.blockstore.api.tls.FleetCertificateAuthority.IssuedCertificate;
import cairn.platform.api.AppliancePaths;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.ConflictException;
import cairn.platform.api.errors.ForbiddenException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;
import cairn.platform.api.metadata.MigrationException;
import cairn.platform.api.metadata.SchemaMigrations;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/**
 * The storage engine: catalog and attachments in Derby, data in {@code DATA/volumes/}.
 *
 * <p>On activation it adopts what exists: finishes deletions and abandons creations a
 * crash interrupted, opens every volume, and rebuilds the live attachments with a fresh
 * lease each (their clients get one lease period to reconnect after a restart or an
 * upgrade). On deactivation it ends every channel with {@link EngineUnavailableException}
 * (the NBD server reopens on the returning service), records what changed, and closes the
 * files; no user state is touched.
 *
 * <p>Control operations are serialized by one lock (they are rare, and this keeps the
 * catalog, the epochs and the live maps in step); the I/O path never takes it.
 */
@Component(immediate = true, configurationPid = BlockstoreConstants.ENGINE_PID, service = { VolumeService.class, HealthCheck.class },
        property = HealthCheck.NAME + "=" + BlockstoreConstants.HEALTH_CHECK)
@Designate(ocd = VolumeServiceImpl.Config.class)
public class VolumeServiceImpl implements VolumeService, HealthCheck {

    @ObjectClassDefinition(name = "Cairn block storage", description = "Volumes, leases and takeover")
    public @interface Config {
        @AttributeDefinition(description = "Milliseconds a lease runs after the attachment's last connection "
                + "closed or its last renew", min = "100", max = "3600000")
        long leaseMillis() default 15_000;

        @AttributeDefinition(description = "Milliseconds between background records of changed blocks in the "
                + "metadata store (every FLUSH records them too)", min = "100", max = "60000")
        long recordIntervalMillis() default 1_000;

        @AttributeDefinition(description = "Days an attachment's client certificate is valid (fencing refuses it "
                + "earlier when the attachment ends)", min = "1", max = "36500")
        int clientCertificateValidityDays() default 3650;

        @AttributeDefinition(description = "MiB of volume data, all volumes together, mapped into the engine's "
                + "memory so that large reads already in the page cache are sent from there with one copy "
                + "instead of two; costs page tables (8 bytes per 4 KiB read that way). 0: every read copies",
                min = "0", max = "16777216")
        long mappedReadMiB() default 32_768;
    }

    private static final Logger LOG = LoggerFactory.getLogger(VolumeServiceImpl.class);
    private static final int DEFAULT_NBD_PORT = 10809;

    private final BundleContext context;
    private final Config config;
    private final Store store;
    /** Attachments, epochs, leases and standbys: Derby today, behind an interface for the fleet. */
    private final AttachmentLedger ledger;
    private final AuditLog audit;
    private final FleetCertificateAuthority ca;
    private final Path volumesDir;
    private final SecureRandom random = new SecureRandom();
    private final ReentrantLock catalog = new ReentrantLock();
    private final Map<String, VolumeFile> volumes = new ConcurrentHashMap<>();
    /** Mapped bytes the volumes share for reads served from the page cache (see MappedData). */
    private final MappedData.Budget mapBudget;
    private final Map<String, LiveAttachment> byVolume = new ConcurrentHashMap<>();
    private final Map<String, LiveAttachment> byExport = new ConcurrentHashMap<>();
    private final Map<String, LiveAttachment> byCertificate = new ConcurrentHashMap<>();
    private final Map<String, List<VolumeMirror>> mirrors = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scheduler;
    private volatile boolean stopping;

    @Activate
    public VolumeServiceImpl(BundleContext context, Config config,
            @Reference(target = "(" + SchemaMigrations.DB_PROPERTY + "=" + SchemaMigrations.MAIN_DB + ")") DataSource db,
            @Reference SchemaMigrations migrations, @Reference AuditLog audit, @Reference FleetCertificateAuthority ca)
            throws MigrationException, IOException {
        this.context = context;
        this.config = config;
        this.mapBudget = new MappedData.Budget(config.mappedReadMiB() << 20);
        this.audit = audit;
        this.ca = ca;
        this.store = new Store(db);
        this.ledger = store;
        migrations.migrate(BlockstoreConstants.AUDIT_OWNER, context.getBundle());
        this.volumesDir = Path.of(context.getProperty(AppliancePaths.DATA)).resolve("volumes");
        Files.createDirectories(volumesDir);
        adopt();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cairn-blockstore-leases");
            t.setDaemon(true);
            return t;
        });
        long check = Math.max(50, config.leaseMillis() / 4);
        scheduler.scheduleWithFixedDelay(this::takeOverExpired, check, check, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::recordChanges, config.recordIntervalMillis(),
                config.recordIntervalMillis(), TimeUnit.MILLISECONDS);
    }

    private void adopt() {
        for (Store.VolumeRow v : store.volumes()) {
            try {
                switch (v.state()) {
                case CREATING, DELETING -> {
                    // A creation was never acknowledged; a deletion was: finish both the same way.
                    VolumeFile.deleteFiles(volumesDir, v.id());
                    store.deleteVolume(v.id());
                    LOG.info("removed volume {} left {} by an interrupted operation", v.id(), v.state().id());
                }
                case ERROR -> LOG.warn("volume {} is in error; not opened", v.id());
                default -> volumes.put(v.id(), VolumeFile.open(volumesDir, v.id(), v.sizeBytes(), v.generation(), store, mapBudget));
                }
            } catch (IOException | RuntimeException e) {
                LOG.error("cannot open volume {}: {}", v.id(), e.getMessage(), e);
                store.setVolumeState(v.id(), VolumeState.ERROR);
            }
        }
        long grace = System.currentTimeMillis() + config.leaseMillis();
        for (Store.AttachmentRow a : ledger.activeAttachments()) {
            long lease = Math.max(a.leaseExpiresAt().toEpochMilli(), grace);
            ledger.setLease(a.id(), Instant.ofEpochMilli(lease));
            register(new LiveAttachment(a, lease));
        }
        LOG.info("block storage adopted {} volumes and {} attachments", volumes.size(), byVolume.size());
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        scheduler.shutdownNow();
        scheduler.awaitTermination(10, TimeUnit.SECONDS);
        stopping = true;
        long lease = System.currentTimeMillis() + config.leaseMillis();
        for (VolumeFile v : volumes.values()) {
            v.io.writeLock().lock();
            try {
                LiveAttachment live = byVolume.get(v.id);
                if (live != null && !live.channels.isEmpty()) {
                    for (ChannelImpl ch : live.channels) {
                        ch.end(new EngineUnavailableException("the block storage engine is restarting"));
                    }
                    live.channels.clear();
                    live.leaseExpiresAtMillis = lease;
                    ledger.setLease(live.row.id(), Instant.ofEpochMilli(lease));
                }
                v.close();
            } catch (IOException | RuntimeException e) {
                LOG.error("closing volume {} failed: {}", v.id, e.getMessage(), e);
            } finally {
                v.io.writeLock().unlock();
            }
        }
        volumes.clear();
    }

    // ---- mirrors (replication): dynamic, a mirror may come and go at any time

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addMirror(VolumeMirror mirror, Map<String, Object> properties) {
        Object id = properties.get(VolumeMirror.VOLUME_ID);
        if (id != null) {
            mirrors.computeIfAbsent(id.toString(), k -> new CopyOnWriteArrayList<>()).add(mirror);
        }
    }

    void removeMirror(VolumeMirror mirror, Map<String, Object> properties) {
        Object id = properties.get(VolumeMirror.VOLUME_ID);
        if (id != null) {
            List<VolumeMirror> list = mirrors.get(id.toString());
            if (list != null) {
                list.remove(mirror);
            }
        }
    }

    List<VolumeMirror> mirrors(String volumeId) {
        List<VolumeMirror> list = mirrors.get(volumeId);
        return list == null ? List.of() : list;
    }

    // ---- catalog

    @Override
    public Volume create(Caller caller, String name, long sizeBytes) {
        require(caller, Role.OPERATOR);
        validateName(name);
        validateSize("sizeBytes", sizeBytes);
        return audited(caller, "volume.create", name, () -> {
            catalog.lock();
            try {
                if (store.nameTaken(caller.account(), name)) {
                    throw new ConflictException("volume_name_taken",
                            "a volume named '" + name + "' already exists in account " + caller.account());
                }
                String id = "vol-" + hex(8);
                Store.VolumeRow row = new Store.VolumeRow(id, name, caller.account(), sizeBytes, VolumeState.CREATING,
                        0, 1, Instant.now());
                try {
                    store.insertVolume(row);
                } catch (Store.StoreException e) {
                    if (e.isDuplicateKey()) {
                        throw new ConflictException("volume_name_taken", "a volume named '" + name + "' already exists");
                    }
                    throw e;
                }
                VolumeFile file;
                try {
                    file = VolumeFile.create(volumesDir, id, sizeBytes, 1, store, mapBudget);
                } catch (IOException e) {
                    cleanUpFailedCreate(id);
                    throw new CairnException(CairnException.Kind.UNAVAILABLE, "volume_storage",
                            "cannot create the volume's data file: " + e.getMessage(), e);
                }
                store.setVolumeState(id, VolumeState.AVAILABLE);
                volumes.put(id, file);
                return toVolume(store.volume(id).orElseThrow());
            } finally {
                catalog.unlock();
            }
        }, v -> v.id() + " " + sizeBytes + " bytes");
    }

    private void cleanUpFailedCreate(String id) {
        try {
            VolumeFile.deleteFiles(volumesDir, id);
            store.deleteVolume(id);
        } catch (IOException | RuntimeException e) {
            LOG.error("cleaning up the failed creation of {} failed; it is retried on the next start", id, e);
        }
    }

    @Override
    public List<Volume> list(Caller caller) {
        require(caller, Role.VIEWER);
        return store.volumes().stream().filter(v -> caller.canSee(v.account())).map(this::toVolume).toList();
    }

    @Override
    public Volume get(Caller caller, String volumeId) {
        require(caller, Role.VIEWER);
        return toVolume(visible(caller, volumeId));
    }

    @Override
    public Volume resize(Caller caller, String volumeId, long newSizeBytes) {
        require(caller, Role.OPERATOR);
        validateSize("sizeBytes", newSizeBytes);
        return audited(caller, "volume.resize", volumeId, () -> {
            catalog.lock();
            try {
                Store.VolumeRow row = visible(caller, volumeId);
                VolumeFile file = usable(row);
                if (newSizeBytes < row.sizeBytes()) {
                    throw new ConflictException("size_shrink", "volumes only grow: " + volumeId + " has "
                            + row.sizeBytes() + " bytes, " + newSizeBytes + " were asked");
                }
                if (newSizeBytes > row.sizeBytes()) {
                    file.io.writeLock().lock();
                    try {
                        file.grow(newSizeBytes);
                        store.setVolumeSize(volumeId, newSizeBytes);
                    } catch (IOException e) {
                        throw new CairnException(CairnException.Kind.UNAVAILABLE, "volume_storage",
                                "cannot grow the data file: " + e.getMessage(), e);
                    } finally {
                        file.io.writeLock().unlock();
                    }
                }
                return toVolume(store.volume(volumeId).orElseThrow());
            } finally {
                catalog.unlock();
            }
        }, v -> bytes(v.sizeBytes()));
    }

    @Override
    public void delete(Caller caller, String volumeId) {
        require(caller, Role.OPERATOR);
        audited(caller, "volume.delete", volumeId, () -> {
            catalog.lock();
            try {
                Store.VolumeRow row = visible(caller, volumeId);
                if (byVolume.containsKey(volumeId) || row.state() == VolumeState.IN_USE) {
                    LiveAttachment live = byVolume.get(volumeId);
                    throw new ConflictException("volume_attached", "volume " + volumeId + " is attached"
                            + (live == null ? "" : " to " + live.row.instanceId()) + "; detach it first");
                }
                if (row.state() == VolumeState.DELETING || row.state() == VolumeState.CREATING) {
                    throw new ConflictException("volume_busy", "volume " + volumeId + " is " + row.state().id());
                }
                store.setVolumeState(volumeId, VolumeState.DELETING);
                VolumeFile file = volumes.remove(volumeId);
                try {
                    if (file != null) {
                        file.io.writeLock().lock();
                        try {
                            file.close();
                        } finally {
                            file.io.writeLock().unlock();
                        }
                    }
                    VolumeFile.deleteFiles(volumesDir, volumeId);
                } catch (IOException e) {
                    // The row stays 'deleting'; the next start finishes the job.
                    LOG.error("deleting the files of {} failed: {}", volumeId, e.getMessage(), e);
                }
                store.deleteVolume(volumeId);
                return row;
            } finally {
                catalog.unlock();
            }
        }, r -> r.name());
    }

    @Override
    public VolumeStats stats(Caller caller, String volumeId) {
        require(caller, Role.VIEWER);
        VolumeFile file = usable(visible(caller, volumeId));
        LiveAttachment live = byVolume.get(volumeId);
        return new VolumeStats(volumeId, Instant.now(), file.readOps.sum(), file.readBytes.sum(), file.writeOps.sum(),
                file.writeBytes.sum(), file.flushOps.sum(), file.zeroOps.sum(), live == null ? 0 : live.channels.size());
    }

    // ---- attachments

    @Override
    public AttachResult attach(Caller caller, String volumeId, String instanceId) {
        require(caller, Role.OPERATOR);
        validateInstance(instanceId);
        return audited(caller, "volume.attach", volumeId, () -> {
            catalog.lock();
            try {
                Store.VolumeRow row = visible(caller, volumeId);
                usable(row);
                LiveAttachment live = byVolume.get(volumeId);
                if (live != null) {
                    if (live.row.instanceId().equals(instanceId)) {
                        return new AttachResult(toAttachment(live, true), false);
                    }
                    throw new ConflictException("volume_attached", "volume " + volumeId + " is attached to "
                            + live.row.instanceId() + "; it can be taken over once that lease has run out");
                }
                return new AttachResult(toAttachment(newAttachment(volumeId, instanceId, null), true), true);
            } finally {
                catalog.unlock();
            }
        }, r -> instanceId + " epoch " + r.attachment().epoch() + (r.created() ? "" : " (again)"));
    }

    @Override
    public Optional<Attachment> attachment(Caller caller, String volumeId) {
        require(caller, Role.VIEWER);
        visible(caller, volumeId);
        return Optional.ofNullable(byVolume.get(volumeId)).map(l -> toAttachment(l, false));
    }

    @Override
    public Attachment renew(Caller caller, String volumeId, String attachmentId) {
        require(caller, Role.OPERATOR);
        return audited(caller, "volume.renew", volumeId, () -> {
            catalog.lock();
            try {
                visible(caller, volumeId);
                LiveAttachment live = current(volumeId, attachmentId);
                long lease = System.currentTimeMillis() + config.leaseMillis();
                ledger.setLease(attachmentId, Instant.ofEpochMilli(lease));
                live.leaseExpiresAtMillis = lease;
                return toAttachment(live, false);
            } finally {
                catalog.unlock();
            }
        }, a -> attachmentId);
    }

    @Override
    public void detach(Caller caller, String volumeId, String attachmentId) {
        require(caller, Role.OPERATOR);
        audited(caller, "volume.detach", volumeId, () -> {
            catalog.lock();
            try {
                visible(caller, volumeId);
                LiveAttachment live = current(volumeId, attachmentId);
                if (!live.channels.isEmpty()) {
                    throw new ConflictException("attachment_in_use", "attachment " + attachmentId + " has "
                            + live.channels.size() + " open connection(s); disconnect first, or force the detach");
                }
                end(live, AttachmentState.DETACHED);
                return live;
            } finally {
                catalog.unlock();
            }
        }, l -> attachmentId + " of " + l.row.instanceId());
    }

    @Override
    public void forceDetach(Caller caller, String volumeId, String attachmentId) {
        if (!caller.is(Role.ADMIN)) {
            audit.record(AuditEntry.of(caller.user(), caller.source(), "volume.forceDetach", volumeId, "forbidden",
                    attachmentId));
            throw new ForbiddenException("forcing a detach needs the admin role");
        }
        audited(caller, "volume.forceDetach", volumeId, () -> {
            catalog.lock();
            try {
                visible(caller, volumeId);
                LiveAttachment live = current(volumeId, attachmentId);
                end(live, AttachmentState.FENCED);
                return live;
            } finally {
                catalog.unlock();
            }
        }, l -> attachmentId + " of " + l.row.instanceId() + ", " + l.row.epoch());
    }

    @Override
    public Attachment takeover(Caller caller, String volumeId, String instanceId) {
        require(caller, Role.OPERATOR);
        return takeover(caller, volumeId, instanceId, false);
    }

    @Override
    public Attachment forceTakeover(Caller caller, String volumeId, String instanceId) {
        if (caller == null || !caller.is(Role.ADMIN)) {
            if (caller != null) {
                audit.record(AuditEntry.of(caller.user(), caller.source(), "volume.takeover", volumeId, "forbidden",
                        instanceId + " (forced)"));
            }
            throw new ForbiddenException("forcing a takeover needs the admin role");
        }
        return takeover(caller, volumeId, instanceId, true);
    }

    private Attachment takeover(Caller caller, String volumeId, String instanceId, boolean force) {
        validateInstance(instanceId);
        return audited(caller, "volume.takeover", volumeId, () -> {
            catalog.lock();
            try {
                Store.VolumeRow row = visible(caller, volumeId);
                usable(row);
                LiveAttachment live = byVolume.get(volumeId);
                if (live != null && live.row.instanceId().equals(instanceId)) {
                    return toAttachment(live, true);
                }
                if (live != null && !force && live.leaseHeld(System.currentTimeMillis())) {
                    throw new ConflictException("lease_held", "the lease of " + live.row.instanceId() + " on "
                            + volumeId + (live.channels.isEmpty()
                                    ? " runs until " + Instant.ofEpochMilli(live.leaseExpiresAtMillis)
                                    : " is held by " + live.channels.size() + " open connection(s)"));
                }
                LiveAttachment taken = newAttachment(volumeId, instanceId, live);
                if (live != null) {
                    // An entry of its own: whose credentials stopped working, when and for whom.
                    audit.record(AuditEntry.of(caller.user(), caller.source(), "volume.fence", volumeId, "ok",
                            live.row.id() + " of " + live.row.instanceId() + " (epoch " + live.row.epoch()
                                    + ") fenced by the " + (force ? "forced " : "") + "takeover of " + instanceId
                                    + " (epoch " + taken.row.epoch() + ")"));
                }
                return toAttachment(taken, true);
            } finally {
                catalog.unlock();
            }
        }, a -> instanceId + " epoch " + a.epoch() + (force ? " (forced)" : ""));
    }

    @Override
    public Standby registerStandby(Caller caller, String volumeId, String instanceId) {
        require(caller, Role.OPERATOR);
        validateInstance(instanceId);
        return audited(caller, "volume.standby.register", volumeId, () -> {
            catalog.lock();
            try {
                usable(visible(caller, volumeId));
                ledger.addStandby(volumeId, instanceId, Instant.now());
                return ledger.standbys(volumeId).stream().filter(s -> s.instanceId().equals(instanceId)).findFirst()
                        .orElseThrow();
            } finally {
                catalog.unlock();
            }
        }, s -> instanceId);
    }

    @Override
    public void removeStandby(Caller caller, String volumeId, String instanceId) {
        require(caller, Role.OPERATOR);
        validateInstance(instanceId);
        audited(caller, "volume.standby.remove", volumeId, () -> {
            catalog.lock();
            try {
                visible(caller, volumeId);
                ledger.removeStandby(volumeId, instanceId);
                return instanceId;
            } finally {
                catalog.unlock();
            }
        }, s -> s);
    }

    @Override
    public List<Standby> standbys(Caller caller, String volumeId) {
        require(caller, Role.VIEWER);
        visible(caller, volumeId);
        return ledger.standbys(volumeId);
    }

    /** Scheduled: hands a volume whose lease ran out to its earliest standby. */
    private void takeOverExpired() {
        long now = System.currentTimeMillis();
        for (LiveAttachment live : List.copyOf(byVolume.values())) {
            if (live.leaseHeld(now) || live.ended) {
                continue;
            }
            try {
                String volumeId = live.row.volumeId();
                Optional<Standby> next = ledger.standbys(volumeId).stream()
                        .filter(s -> !s.instanceId().equals(live.row.instanceId())).findFirst();
                if (next.isPresent()) {
                    Attachment a = takeover(Caller.system("standby takeover"), volumeId, next.get().instanceId());
                    LOG.info("standby {} took volume {} over from {} (epoch {})", a.instanceId(), volumeId,
                            live.row.instanceId(), a.epoch());
                }
            } catch (RuntimeException e) {
                LOG.warn("automatic takeover of {} failed: {}", live.row.volumeId(), e.getMessage());
            }
        }
    }

    /** Scheduled: records changed blocks in Derby between flushes, so a FLUSH has little left to do. */
    private void recordChanges() {
        for (VolumeFile v : volumes.values()) {
            try {
                v.fold();
            } catch (IOException | RuntimeException e) {
                LOG.warn("recording the changed blocks of {} failed: {}", v.id, e.getMessage());
            }
        }
    }

    /** A new attachment with the next epoch; {@code replaced} (a takeover) is fenced. Caller holds the catalog lock. */
    private LiveAttachment newAttachment(String volumeId, String instanceId, LiveAttachment replaced) {
        VolumeFile file = volumes.get(volumeId);
        String id = "att-" + hex(8);
        byte[] secret = new byte[24];
        random.nextBytes(secret);
        String exportName = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        IssuedCertificate cert = ca.issueClientCertificate(id,
                Duration.ofDays(config.clientCertificateValidityDays()));
        Instant now = Instant.now();
        long lease = now.toEpochMilli() + config.leaseMillis();
        Store.AttachmentRow row = new Store.AttachmentRow(id, volumeId, instanceId, 0, AttachmentState.ACTIVE,
                exportName, Instant.ofEpochMilli(lease), Pem.fingerprint(cert.certificate()), cert.certificatePem(),
                cert.privateKeyPem(), now);
        file.io.writeLock().lock();
        try {
            long epoch = ledger.insertAttachment(row, replaced == null ? null : replaced.row.id());
            if (replaced != null) {
                fence(replaced, "taken over by " + instanceId + " with epoch " + epoch);
            }
            LiveAttachment live = new LiveAttachment(new Store.AttachmentRow(id, volumeId, instanceId, epoch,
                    AttachmentState.ACTIVE, exportName, row.leaseExpiresAt(), row.certSha256(), row.certPem(),
                    row.keyPem(), now), lease);
            register(live);
            return live;
        } finally {
            file.io.writeLock().unlock();
        }
    }

    /** Ends an attachment (detach or forced detach). Caller holds the catalog lock. */
    private void end(LiveAttachment live, AttachmentState state) {
        VolumeFile file = volumes.get(live.row.volumeId());
        file.io.writeLock().lock();
        try {
            ledger.endAttachment(live.row.id(), live.row.volumeId(), state);
            fence(live, state == AttachmentState.DETACHED ? "detached" : "detached by force");
        } finally {
            file.io.writeLock().unlock();
        }
    }

    /** Caller holds the volume's io write lock: no request of this attachment is in flight. */
    private void fence(LiveAttachment live, String why) {
        live.ended = true;
        byVolume.remove(live.row.volumeId(), live);
        byExport.remove(live.row.exportName(), live);
        byCertificate.remove(live.row.certSha256(), live);
        AttachmentFencedException reason = new AttachmentFencedException(live.row.id(), live.row.epoch(),
                "attachment " + live.row.id() + " (epoch " + live.row.epoch() + ") was " + why);
        for (ChannelImpl ch : live.channels) {
            ch.end(reason);
        }
        live.channels.clear();
    }

    private void register(LiveAttachment live) {
        byVolume.put(live.row.volumeId(), live);
        byExport.put(live.row.exportName(), live);
        byCertificate.put(live.row.certSha256(), live);
    }

    /** The volume's active attachment with this id, or a clear error. */
    private LiveAttachment current(String volumeId, String attachmentId) {
        LiveAttachment live = byVolume.get(volumeId);
        if (live != null && live.row.id().equals(attachmentId)) {
            return live;
        }
        Optional<Store.AttachmentRow> row = ledger.attachment(attachmentId == null ? "" : attachmentId);
        if (row.isPresent() && row.get().volumeId().equals(volumeId)) {
            throw new ConflictException("attachment_ended", "attachment " + attachmentId + " has ended ("
                    + row.get().state().id() + ")");
        }
        throw new NotFoundException("attachment", String.valueOf(attachmentId));
    }

    // ---- I/O path

    @Override
    public VolumeChannel open(String exportName) throws IOException {
        if (stopping) {
            throw new EngineUnavailableException("the block storage engine is stopping");
        }
        LiveAttachment live = exportName == null ? null : byExport.get(exportName);
        if (live == null) {
            Optional<Store.AttachmentRow> ended = exportName == null ? Optional.empty()
                    : ledger.attachmentByExport(exportName);
            if (ended.isPresent()) {
                throw fenced(ended.get());
            }
            throw new ExportRefusedException("no export named '" + exportName + "'");
        }
        return openChannel(live);
    }

    @Override
    public VolumeChannel open(String exportName, X509Certificate clientCertificate) throws IOException {
        if (stopping) {
            throw new EngineUnavailableException("the block storage engine is stopping");
        }
        if (clientCertificate == null) {
            throw new ExportRefusedException("no client certificate");
        }
        String fingerprint = Pem.fingerprint(clientCertificate);
        LiveAttachment live = byCertificate.get(fingerprint);
        if (live == null) {
            Optional<Store.AttachmentRow> ended = ledger.attachmentByCertificate(fingerprint);
            if (ended.isPresent()) {
                throw fenced(ended.get());
            }
            throw new ExportRefusedException("the certificate " + clientCertificate.getSubjectX500Principal()
                    + " belongs to no attachment");
        }
        if (exportName != null && !exportName.isEmpty() && !exportName.equals(live.row.exportName())) {
            throw new ExportRefusedException("the certificate of " + live.row.id() + " was not issued for export '"
                    + exportName + "'");
        }
        return openChannel(live);
    }

    @Override
    public Optional<String> exportFor(X509Certificate clientCertificate) {
        LiveAttachment live = clientCertificate == null ? null : byCertificate.get(Pem.fingerprint(clientCertificate));
        return Optional.ofNullable(live).map(l -> l.row.exportName());
    }

    private VolumeChannel openChannel(LiveAttachment live) throws IOException {
        VolumeFile file = volumes.get(live.row.volumeId());
        if (file == null) {
            throw new EngineUnavailableException("volume " + live.row.volumeId() + " is not open");
        }
        file.io.readLock().lock();
        try {
            if (stopping) {
                throw new EngineUnavailableException("the block storage engine is stopping");
            }
            if (live.ended) {
                throw fenced(ledger.attachment(live.row.id()).orElse(live.row));
            }
            ChannelImpl ch = new ChannelImpl(this, file, live);
            live.channels.add(ch);
            return ch;
        } finally {
            file.io.readLock().unlock();
        }
    }

    private static AttachmentFencedException fenced(Store.AttachmentRow row) {
        return new AttachmentFencedException(row.id(), row.epoch(),
                "attachment " + row.id() + " (epoch " + row.epoch() + ") has ended (" + row.state().id() + ")");
    }

    /** The lease runs again from the moment the last connection closed. */
    void channelClosed(ChannelImpl ch, LiveAttachment live) {
        if (live.channels.remove(ch) && live.channels.isEmpty() && !live.ended && !stopping) {
            long lease = System.currentTimeMillis() + config.leaseMillis();
            live.leaseExpiresAtMillis = lease;
            try {
                ledger.setLease(live.row.id(), Instant.ofEpochMilli(lease));
            } catch (RuntimeException e) {
                LOG.warn("recording the lease of {} failed: {}", live.row.id(), e.getMessage());
            }
        }
    }

    // ---- snapshots and replication

    @Override
    public VolumeView openView(Caller caller, String volumeId) throws IOException {
        require(caller, Role.OPERATOR);
        Store.VolumeRow row = visible(caller, volumeId);
        VolumeFile file = usable(row);
        file.io.writeLock().lock();
        try {
            ViewImpl view = file.openView();
            audit.record(AuditEntry.of(caller.user(), caller.source(), "volume.view.open", volumeId, "ok",
                    "generation " + view.generation()));
            return view;
        } finally {
            file.io.writeLock().unlock();
        }
    }

    @Override
    public ChangedBlocks changedBlocks(Caller caller, String volumeId, long afterGeneration) {
        require(caller, Role.VIEWER);
        if (afterGeneration < 0) {
            throw new InvalidInputException("afterGeneration", "must not be negative");
        }
        Store.VolumeRow row = visible(caller, volumeId);
        VolumeFile file = usable(row);
        try {
            file.fold();
        } catch (IOException e) {
            throw new CairnException(CairnException.Kind.UNAVAILABLE, "volume_storage", e.getMessage(), e);
        }
        long generation = store.volume(volumeId).orElseThrow().generation();
        return new ChangedBlocks(volumeId, TRACKING_BLOCK_SIZE, afterGeneration, generation,
                store.changedAfter(volumeId, afterGeneration));
    }

    // ---- health

    @Override
    public HealthCheckResult check() {
        if (!Files.isWritable(volumesDir)) {
            return HealthCheckResult.failed("the volumes directory " + volumesDir + " is not writable");
        }
        List<String> broken = new ArrayList<>();
        int total = 0;
        for (Store.VolumeRow v : store.volumes()) {
            total++;
            if (v.state() == VolumeState.ERROR) {
                broken.add(v.id());
            }
        }
        if (!broken.isEmpty()) {
            return HealthCheckResult.failed("volumes in error (data files missing or unreadable): " + broken);
        }
        return HealthCheckResult.ok(total + " volume(s), " + byVolume.size() + " attached");
    }

    // ---- helpers

    private Volume toVolume(Store.VolumeRow r) {
        LiveAttachment live = byVolume.get(r.id());
        return new Volume(r.id(), r.name(), r.account(), r.sizeBytes(), r.state(), r.epoch(),
                live == null ? null : live.row.instanceId(), r.createdAt());
    }

    private Attachment toAttachment(LiveAttachment live, boolean withCredentials) {
        Store.AttachmentRow r = live.row;
        long lease = live.channels.isEmpty() ? live.leaseExpiresAtMillis
                : Math.max(live.leaseExpiresAtMillis, System.currentTimeMillis() + config.leaseMillis());
        TlsCredentials tls = withCredentials
                ? new TlsCredentials(ca.trustedCertificatePem(), r.certPem(), r.keyPem())
                : null;
        return new Attachment(r.id(), r.volumeId(), r.instanceId(), r.epoch(),
                live.ended ? AttachmentState.FENCED : AttachmentState.ACTIVE, Instant.ofEpochMilli(lease),
                live.channels.size(), r.exportName(), uri(r.exportName()), tls, r.createdAt());
    }

    private String uri(String exportName) {
        boolean plain = "off".equalsIgnoreCase(String.valueOf(context.getProperty(BlockstoreConstants.NBD_TLS_PROPERTY)));
        String host = ca.serverIdentity().hostNames().get(0);
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        String port = context.getProperty(AppliancePaths.NBD_PORT);
        return (plain ? "nbd" : "nbds") + "://" + host + ":" + (port == null ? DEFAULT_NBD_PORT : port.trim()) + "/"
                + exportName;
    }

    private Store.VolumeRow visible(Caller caller, String volumeId) {
        if (volumeId == null || volumeId.isBlank()) {
            throw new InvalidInputException("volumeId", "is required");
        }
        return store.volume(volumeId).filter(v -> caller.canSee(v.account()))
                .orElseThrow(() -> new NotFoundException("volume", volumeId));
    }

    private VolumeFile usable(Store.VolumeRow row) {
        if (row.state() == VolumeState.ERROR) {
            throw new ConflictException("volume_error", "volume " + row.id() + " is in error");
        }
        VolumeFile file = volumes.get(row.id());
        if (file == null || row.state() == VolumeState.CREATING || row.state() == VolumeState.DELETING) {
            throw new ConflictException("volume_busy", "volume " + row.id() + " is " + row.state().id());
        }
        return file;
    }

    private static void require(Caller caller, Role role) {
        if (caller == null) {
            throw new ForbiddenException("no caller");
        }
        if (!caller.is(role)) {
            throw new ForbiddenException("this needs the " + role.id() + " role; " + caller.user() + " is "
                    + caller.role().id());
        }
    }

    private static void validateName(String name) {
        if (name == null || name.isBlank()) {
            throw new InvalidInputException("name", "is required");
        }
        if (!name.matches(NAME_PATTERN)) {
            throw new InvalidInputException("name", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                    + "letter or digit; was '" + name + "'");
        }
    }

    private static void validateSize(String field, long size) {
        if (size <= 0) {
            throw new InvalidInputException(field, "must be positive; was " + size);
        }
        if (size % SIZE_ALIGNMENT != 0) {
            throw new InvalidInputException(field, "must be a multiple of " + SIZE_ALIGNMENT + "; was " + size);
        }
        if (size > MAX_SIZE_BYTES) {
            throw new InvalidInputException(field, "must be at most " + MAX_SIZE_BYTES + " (16 TiB); was " + size);
        }
    }

    private static void validateInstance(String instanceId) {
        if (instanceId == null || instanceId.isBlank()) {
            throw new InvalidInputException("instanceId", "is required");
        }
        if (!instanceId.matches(INSTANCE_ID_PATTERN)) {
            throw new InvalidInputException("instanceId", "must be 1 to 128 letters, digits or . _ : @ -; was '"
                    + instanceId + "'");
        }
    }

    private String hex(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static String bytes(long size) {
        return size + " bytes";
    }

    /** Runs a mutation and records it in the audit log, as done or with the error's code. */
    private <T> T audited(Caller caller, String action, String target, Supplier<T> work,
            java.util.function.Function<T, String> detail) {
        T result;
        try {
            result = work.get();
        } catch (CairnException e) {
            audit.record(AuditEntry.of(caller.user(), caller.source(), action, target, e.code(), e.getMessage()));
            throw e;
        } catch (RuntimeException e) {
            audit.record(AuditEntry.of(caller.user(), caller.source(), action, target, "error", String.valueOf(e.getMessage())));
            throw e;
        }
        audit.record(AuditEntry.of(caller.user(), caller.source(), action, target, "ok", detail.apply(result)));
        return result;
    }
}
