package cairn.launcher;

import java.util.HashMap;
import java.util.Map;

import cairn.image.Image;

/** Framework properties derived from the operator's options. */
final class FrameworkSettings {

    private FrameworkSettings() {
    }

    static Map<String, String> forAppliance(Options o, Image image, DataDirectory data, String slot) {
        Map<String, String> p = new HashMap<>();
        p.put("org.osgi.framework.storage", data.framework(slot).toString());
        // keep installed and updated bundles across restarts
        p.put("org.osgi.framework.storage.clean", "none");
        p.put("cairn.data", data.root().toString());
        p.put("cairn.home", image.home().toString());
        p.put("cairn.version", image.version());
        p.put("cairn.role", image.role());
        p.put("cairn.image.slot", slot);
        // the image bin/cairn was started from: slot a's image until one is staged over it
        String installed = System.getProperty("cairn.home");
        if (installed != null) {
            p.put("cairn.image.installed", installed);
        }
        p.put("cairn.bind", o.bind);
        p.put("cairn.http.port", Integer.toString(o.httpPort));
        p.put("cairn.ssh.port", Integer.toString(o.sshPort));
        p.put("cairn.nbd.port", Integer.toString(o.nbdPort));
        p.put("cairn.peer.port", Integer.toString(o.peerPort));
        p.put("cairn.nbd.tls", o.nbdTls ? "on" : "off");
        p.put("cairn.stopOnFatal", "true");
        // configuration files: the operator's etc/ under the data directory, watched live
        p.put("felix.fileinstall.dir", data.etc().toString());
        p.put("felix.fileinstall.filter", ".*\\.(cfg|config)");
        p.put("felix.fileinstall.enableConfigSave", "false");
        p.put("felix.fileinstall.poll", "1000");
        p.put("felix.fileinstall.log.level", "2");
        // web: plain HTTP only on loopback, HTTPS with a first-boot certificate elsewhere
        p.put("org.apache.felix.http.host", o.bind);
        p.put("org.apache.felix.http.jetty.sendServerHeader", "false");
        if (o.loopback()) {
            p.put("org.apache.felix.http.enable", "true");
            p.put("org.osgi.service.http.port", Integer.toString(o.httpPort));
            p.put("org.apache.felix.https.enable", "false");
        } else {
            TlsCertificate cert = TlsCertificate.ensure(data.tls(), o);
            p.put("org.apache.felix.http.enable", "false");
            p.put("org.apache.felix.https.enable", "true");
            p.put("org.osgi.service.http.port.secure", Integer.toString(o.httpPort));
            p.put("org.apache.felix.https.keystore", cert.keystore().toString());
            p.put("org.apache.felix.https.keystore.password", cert.password());
            p.put("org.apache.felix.https.keystore.key.password", cert.password());
        }
        return p;
    }
}
