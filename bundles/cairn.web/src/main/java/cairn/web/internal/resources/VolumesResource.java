package cairn.web.internal.resources;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.blockstore.api.AttachResult;
import cairn.blockstore.api.Attachment;
import cairn.blockstore.api.Standby;
import cairn.blockstore.api.TlsCredentials;
import cairn.blockstore.api.Volume;
import cairn.blockstore.api.VolumeService;
import cairn.blockstore.api.VolumeState;
import cairn.blockstore.api.VolumeStats;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Routes;

/**
 * {@code /volumes}: block volumes, their attachments and standbys. Every rule (roles within
 * the account, tenancy, sizes, epochs, leases) lives in the {@link VolumeService}; this class
 * only maps JSON to its calls. The component is satisfied only while block storage runs, so
 * an appliance without it simply has no volume routes.
 */
@Component(service = ApiResource.class)
public class VolumesResource implements ApiResource {

    /** A volume to create in the caller's account. */
    public record NewVolume(String name, Long sizeBytes) {
    }

    /** A change of a volume: only growing it is possible. */
    public record VolumeChange(Long sizeBytes) {
    }

    /** Who attaches, takes over or waits as standby. */
    public record InstanceRef(String instanceId) {
    }

    /** TLS files of an NBD client, in PEM: ca-cert.pem, client-cert.pem, client-key.pem. */
    public record TlsFiles(String caCertPem, String clientCertPem, String clientKeyPem) {
    }

    /**
     * An attachment. {@code uri} and {@code tls} are only in the answers of attach and takeover,
     * to the instance that holds it; described to anyone they are null (in lab mode the export
     * name in the URI is the credential).
     */
    public record AttachmentBody(String attachmentId, String volumeId, String instanceId, long epoch, String state,
            Instant leaseExpiresAt, int openConnections, String uri, TlsFiles tls, Instant createdAt) {
    }

    /** A volume with its current attachment (without credentials), null when it has none. */
    public record VolumeBody(String id, String name, String account, long sizeBytes, String state, long epoch,
            String attachedInstanceId, Instant createdAt, AttachmentBody attachment) {
    }

    private final VolumeService volumes;

    @Activate
    public VolumesResource(@Reference VolumeService volumes) {
        this.volumes = volumes;
    }

    @Override
    public void routes(Routes r) {
        r.get("/volumes", Role.VIEWER, "Volumes the caller may see (admins: every account)")
                .returnsListOf(VolumeBody.class)
                .handle(call -> volumes.list(call.caller()).stream().map(v -> body(call.caller(), v)).toList());
        r.post("/volumes", Role.OPERATOR, "Create an empty volume in the caller's account; sizeBytes a multiple of "
                + VolumeService.SIZE_ALIGNMENT).accepts(NewVolume.class).returns(VolumeBody.class).status(201)
                .handle(call -> {
                    NewVolume n = call.body(NewVolume.class);
                    if (n.sizeBytes() == null) {
                        throw new InvalidInputException("sizeBytes", "is required");
                    }
                    call.auditTarget("volume " + n.name());
                    Volume v = volumes.create(call.caller(), n.name(), n.sizeBytes());
                    call.auditTarget("volume " + v.id() + " (" + v.name() + ")");
                    return body(call.caller(), v);
                });
        r.get("/volumes/{id}", Role.VIEWER, "One volume with its current attachment").returns(VolumeBody.class)
                .handle(call -> body(call.caller(), volumes.get(call.caller(), call.param("id"))));
        r.patch("/volumes/{id}", Role.OPERATOR, "Grow a volume online (sizeBytes; shrinking is refused)")
                .accepts(VolumeChange.class).returns(VolumeBody.class).handle(call -> {
                    VolumeChange c = call.body(VolumeChange.class);
                    if (c.sizeBytes() == null) {
                        throw new InvalidInputException("sizeBytes", "is required");
                    }
                    call.auditTarget("volume " + call.param("id") + " size " + c.sizeBytes());
                    return body(call.caller(), volumes.resize(call.caller(), call.param("id"), c.sizeBytes()));
                });
        r.delete("/volumes/{id}", Role.OPERATOR, "Delete a volume and its data (refused while attached)")
                .handle(call -> {
                    call.auditTarget("volume " + call.param("id"));
                    volumes.delete(call.caller(), call.param("id"));
                    return null;
                });
        r.get("/volumes/{id}/stats", Role.VIEWER, "I/O counters since the engine started; sample twice for rates")
                .returns(VolumeStats.class).handle(call -> volumes.stats(call.caller(), call.param("id")));

        r.get("/volumes/{id}/attachments", Role.VIEWER, "The current attachment (none or one), without credentials")
                .returnsListOf(AttachmentBody.class).handle(call -> volumes.attachment(call.caller(), call.param("id"))
                        .map(a -> List.of(described(a))).orElse(List.of()));
        r.post("/volumes/{id}/attachments", Role.OPERATOR, "Attach to an instance: 201 with the NBD URI and TLS files;"
                + " 200 with the same attachment when that instance attaches again").accepts(InstanceRef.class)
                .returns(AttachmentBody.class).status(201).handle(call -> {
                    InstanceRef i = call.body(InstanceRef.class);
                    call.auditTarget("volume " + call.param("id") + " instance " + i.instanceId());
                    AttachResult result = volumes.attach(call.caller(), call.param("id"), i.instanceId());
                    call.status(result.created() ? 201 : 200);
                    return withCredentials(result.attachment());
                });
        r.post("/volumes/{id}/attachments/{attachmentId}/renew", Role.OPERATOR, "Extend the attachment's lease")
                .returns(AttachmentBody.class).handle(call -> {
                    call.auditTarget("volume " + call.param("id") + " attachment " + call.param("attachmentId"));
                    return described(volumes.renew(call.caller(), call.param("id"), call.param("attachmentId")));
                });
        r.delete("/volumes/{id}/attachments/{attachmentId}", Role.OPERATOR,
                "Detach (refused while connected); ?force=true (admin) fences it and closes its connections")
                .query("force", "boolean", "admin: fence and detach even while connected").handle(call -> {
                    boolean force = bool(call.query("force"), "force");
                    call.auditTarget("volume " + call.param("id") + " attachment " + call.param("attachmentId")
                            + (force ? " (forced)" : ""));
                    if (force) {
                        volumes.forceDetach(call.caller(), call.param("id"), call.param("attachmentId"));
                    } else {
                        volumes.detach(call.caller(), call.param("id"), call.param("attachmentId"));
                    }
                    return null;
                });
        r.post("/volumes/{id}/takeover", Role.OPERATOR, "Take the volume over for an instance once the current lease"
                + " ran out; fences the old attachment. ?force=true (admin) does it at once, lease or not")
                .query("force", "boolean", "admin: fence the current holder even while its lease runs")
                .accepts(InstanceRef.class).returns(AttachmentBody.class)
                .handle(call -> {
                    boolean force = bool(call.query("force"), "force");
                    InstanceRef i = call.body(InstanceRef.class);
                    call.auditTarget("volume " + call.param("id") + " takeover by " + i.instanceId()
                            + (force ? " (forced)" : ""));
                    Attachment taken = force ? volumes.forceTakeover(call.caller(), call.param("id"), i.instanceId())
                            : volumes.takeover(call.caller(), call.param("id"), i.instanceId());
                    return withCredentials(taken);
                });

        r.get("/volumes/{id}/standbys", Role.VIEWER, "Instances waiting to take over, earliest first")
                .returnsListOf(Standby.class).handle(call -> volumes.standbys(call.caller(), call.param("id")));
        r.post("/volumes/{id}/standbys", Role.OPERATOR, "Register an instance to take over automatically when the"
                + " lease runs out (idempotent)").accepts(InstanceRef.class).returns(Standby.class).status(201)
                .handle(call -> {
                    InstanceRef i = call.body(InstanceRef.class);
                    call.auditTarget("volume " + call.param("id") + " standby " + i.instanceId());
                    return volumes.registerStandby(call.caller(), call.param("id"), i.instanceId());
                });
        r.delete("/volumes/{id}/standbys/{instanceId}", Role.OPERATOR, "Remove a standby registration")
                .handle(call -> {
                    call.auditTarget("volume " + call.param("id") + " standby " + call.param("instanceId"));
                    volumes.removeStandby(call.caller(), call.param("id"), call.param("instanceId"));
                    return null;
                });
    }

    private VolumeBody body(Caller caller, Volume v) {
        AttachmentBody attachment = null;
        if (v.state() == VolumeState.IN_USE) {
            Optional<Attachment> a = volumes.attachment(caller, v.id());
            attachment = a.map(VolumesResource::described).orElse(null);
        }
        return new VolumeBody(v.id(), v.name(), v.account(), v.sizeBytes(), v.state().id(), v.epoch(),
                v.attachedInstanceId(), v.createdAt(), attachment);
    }

    private static AttachmentBody described(Attachment a) {
        return new AttachmentBody(a.attachmentId(), a.volumeId(), a.instanceId(), a.epoch(), a.state().id(),
                a.leaseExpiresAt(), a.openConnections(), null, null, a.createdAt());
    }

    private static AttachmentBody withCredentials(Attachment a) {
        // A plaintext (lab mode) URI takes no TLS files; handing them out would only mislead.
        TlsCredentials t = a.uri() != null && a.uri().startsWith("nbds:") ? a.tls() : null;
        return new AttachmentBody(a.attachmentId(), a.volumeId(), a.instanceId(), a.epoch(), a.state().id(),
                a.leaseExpiresAt(), a.openConnections(), a.uri(),
                t == null ? null : new TlsFiles(t.caCertPem(), t.clientCertPem(), t.clientKeyPem()), a.createdAt());
    }

    private static boolean bool(String value, String field) {
        if (value == null || value.equals("false")) {
            return false;
        }
        if (value.equals("true")) {
            return true;
        }
        throw new InvalidInputException(field, "must be true or false, was '" + value + "'");
    }
}
