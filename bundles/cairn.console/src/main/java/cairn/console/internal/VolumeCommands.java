package cairn.console.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import cairn.blockstore.api.AttachResult;
import cairn.blockstore.api.Attachment;
import cairn.blockstore.api.TlsCredentials;
import cairn.blockstore.api.Volume;
import cairn.blockstore.api.VolumeService;
import cairn.console.api.ArgumentCompleter;
import cairn.console.api.RequiredRole;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/**
 * {@code volume:*}: block volumes and their attachments, through the same
 * {@link VolumeService} the REST API calls (it checks roles, tenancy and input, and audits).
 * A volume is named by its id or, within what the caller sees, by its name. Sizes take
 * binary suffixes: {@code 512M}, {@code 10G}.
 */
@Component(service = VolumeCommands.class)
@GogoCommand(scope = "volume", function = { "list", "create", "show", "resize", "delete", "attach", "detach",
        "takeover" })
public class VolumeCommands implements ArgumentCompleter {

    /** A volume as a table row or a {@code key: value} block. */
    public record VolumeRow(String id, String name, String account, String size, long sizeBytes, String state,
            String instance, long epoch, Instant createdAt) {
    }

    /** One volume with its current attachment, described without credentials. */
    public record VolumeDetail(String id, String name, String account, String size, long sizeBytes, String state,
            long epoch, Instant createdAt, String attachmentId, String instance, Instant leaseExpiresAt,
            Integer openConnections) {
    }

    /**
     * The TLS files of a client. For people the PEMs would flood the terminal; {@code --json}
     * prints them (the same shape as the REST answer) for a script to write to files.
     */
    public record TlsFiles(String caCertPem, String clientCertPem, String clientKeyPem) {
        @Override
        public String toString() {
            return "issued (--json prints caCertPem, clientCertPem, clientKeyPem)";
        }
    }

    /** What an attach or takeover answers: everything an NBD client needs. */
    public record AttachmentView(String attachmentId, String volumeId, String instanceId, long epoch,
            Instant leaseExpiresAt, String uri, TlsFiles tls, boolean created) {
    }

    /** A message for commands that return nothing else. */
    public record Done(String result) {
    }

    /**
     * Dynamic: the commands stay while block storage is restarted or upgraded and answer
     * "unavailable" meanwhile, instead of vanishing from help and completion.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile VolumeService volumeService;

    private VolumeService volumes() {
        VolumeService v = volumeService;
        if (v == null) {
            throw new CairnException(CairnException.Kind.UNAVAILABLE, "unavailable",
                    "block storage is not available right now; try again shortly");
        }
        return v;
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("list the volumes you may see")
    public List<VolumeRow> list(Caller caller) {
        return volumes().list(caller).stream().map(VolumeCommands::row).toList();
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("create an empty volume in your account")
    public VolumeRow create(Caller caller, @Descriptor("volume name") String name,
            @Descriptor("size in bytes, or with K, M, G or T (binary): 10G; a multiple of 4096") String size) {
        return row(volumes().create(caller, name, parseSize(size)));
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("describe a volume and its current attachment")
    public VolumeDetail show(Caller caller, @Descriptor("volume id or name") String volume) {
        Volume v = volumes().get(caller, resolve(caller, volume));
        Optional<Attachment> a = volumes().attachment(caller, v.id());
        return new VolumeDetail(v.id(), v.name(), v.account(), human(v.sizeBytes()), v.sizeBytes(), v.state().id(),
                v.epoch(), v.createdAt(), a.map(Attachment::attachmentId).orElse(null),
                a.map(Attachment::instanceId).orElse(null), a.map(Attachment::leaseExpiresAt).orElse(null),
                a.map(Attachment::openConnections).orElse(null));
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("grow a volume, online (attached clients keep working)")
    public VolumeRow resize(Caller caller, @Descriptor("volume id or name") String volume,
            @Descriptor("the new size: bytes, or with K, M, G or T") String size) {
        return row(volumes().resize(caller, resolve(caller, volume), parseSize(size)));
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("delete a volume and its data (refused while attached)")
    public Done delete(Caller caller, @Descriptor("volume id or name") String volume) {
        String id = resolve(caller, volume);
        volumes().delete(caller, id);
        return new Done("volume " + id + " deleted");
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("attach a volume to an instance; prints the NBD URI (--json adds the TLS files)")
    public AttachmentView attach(Caller caller, @Descriptor("volume id or name") String volume,
            @Descriptor("the instance that will use it") String instanceId) {
        AttachResult r = volumes().attach(caller, resolve(caller, volume), instanceId);
        return view(r.attachment(), r.created());
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("take a volume over for an instance once the holder's lease ran out: fences the old"
            + " attachment (connections closed, credentials refused); prints the new one as attach does")
    public AttachmentView takeover(
            @Descriptor("admin: fence the holder at once, even while its lease runs") @Parameter(names = { "-f", "--force" }, presentValue = "true", absentValue = "false") boolean force,
            Caller caller, @Descriptor("volume id or name") String volume,
            @Descriptor("the instance that takes it over") String instanceId) {
        String id = resolve(caller, volume);
        String before = volumes().attachment(caller, id).map(Attachment::attachmentId).orElse(null);
        Attachment a = force ? volumes().forceTakeover(caller, id, instanceId) : volumes().takeover(caller, id, instanceId);
        // the instance that already held it gets its own attachment back
        return view(a, !a.attachmentId().equals(before));
    }

    private static AttachmentView view(Attachment a, boolean created) {
        // A plaintext (lab mode) URI takes no TLS files; handing them out would only mislead.
        TlsCredentials t = a.uri() != null && a.uri().startsWith("nbds:") ? a.tls() : null;
        return new AttachmentView(a.attachmentId(), a.volumeId(), a.instanceId(), a.epoch(), a.leaseExpiresAt(),
                a.uri(), t == null ? null : new TlsFiles(t.caCertPem(), t.clientCertPem(), t.clientKeyPem()),
                created);
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("detach a volume (its current attachment unless --attachment is given)")
    public Done detach(
            @Descriptor("admin: fence the attachment and close its connections") @Parameter(names = { "-f", "--force" }, presentValue = "true", absentValue = "false") boolean force,
            @Descriptor("the attachment to end (att-...)") @Parameter(names = { "-a", "--attachment" }, absentValue = "") String attachment,
            Caller caller, @Descriptor("volume id or name") String volume) {
        String id = resolve(caller, volume);
        String attachmentId = attachment.isEmpty()
                ? volumes().attachment(caller, id).map(Attachment::attachmentId)
                        .orElseThrow(() -> new CairnException(CairnException.Kind.CONFLICT, "volume_not_attached",
                                "volume " + id + " is not attached"))
                : attachment;
        if (force) {
            volumes().forceDetach(caller, id, attachmentId);
        } else {
            volumes().detach(caller, id, attachmentId);
        }
        return new Done("attachment " + attachmentId + " of " + id + (force ? " fenced and detached" : " detached"));
    }

    /** An id as is; a name is looked up among the volumes the caller sees. */
    private String resolve(Caller caller, String volume) {
        if (volume == null || volume.isBlank()) {
            throw new InvalidInputException("volume", "is required");
        }
        if (volume.startsWith("vol-")) {
            return volume;
        }
        List<Volume> named = volumes().list(caller).stream().filter(v -> v.name().equals(volume)).toList();
        if (named.isEmpty()) {
            throw new NotFoundException("volume", volume);
        }
        if (named.size() > 1) {
            throw new InvalidInputException("volume", "'" + volume + "' names volumes in several accounts; use the id");
        }
        return named.get(0).id();
    }

    private static VolumeRow row(Volume v) {
        return new VolumeRow(v.id(), v.name(), v.account(), human(v.sizeBytes()), v.sizeBytes(), v.state().id(),
                v.attachedInstanceId(), v.epoch(), v.createdAt());
    }

    /** Bytes, or a number with a binary suffix K, M, G, T (an optional trailing B or iB). */
    static long parseSize(String size) {
        String s = size == null ? "" : size.strip().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
            case 'K' -> shift = 10;
            case 'M' -> shift = 20;
            case 'G' -> shift = 30;
            case 'T' -> shift = 40;
            default -> shift = 0;
            }
        }
        String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
        try {
            long n = Long.parseLong(digits);
            if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
                throw new InvalidInputException("size", "is out of range: '" + size + "'");
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new InvalidInputException("size", "must be bytes or a number with K, M, G or T, such as 10G; was '"
                    + size + "'");
        }
    }

    static String human(long bytes) {
        String[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
        int u = 0;
        double v = bytes;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%d %s", (long) v, units[u])
                : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Volume names (first argument) for every function but list and create. */
    @Override
    public List<String> complete(Caller caller, String function, List<String> words) {
        List<String> out = new ArrayList<>();
        if (words.size() <= 1 && !function.equals("list") && !function.equals("create")) {
            volumes().list(caller).forEach(v -> out.add(v.name()));
        }
        return out;
    }
}
