package cairn.launcher;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The web certificate, generated at first boot with the JDK's keytool (the JDK has no
 * public API to issue X.509 certificates) and kept under {@code DATA/tls/}, so clients
 * that pinned it see the same one after restarts and upgrades.
 */
record TlsCertificate(Path keystore, String password) {

    static TlsCertificate ensure(Path tls, Options o) {
        Path keystore = tls.resolve("http.p12");
        Path secret = tls.resolve("http.p12.pass");
        try {
            if (Files.isRegularFile(keystore) && Files.isRegularFile(secret)) {
                return new TlsCertificate(keystore, Files.readString(secret, StandardCharsets.UTF_8).strip());
            }
            byte[] random = new byte[24];
            new SecureRandom().nextBytes(random);
            String password = HexFormat.of().formatHex(random);
            Files.deleteIfExists(keystore);
            Files.writeString(secret, password + "\n", StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            String host = InetAddress.getLocalHost().getHostName();
            List<String> san = new ArrayList<>(List.of("dns:" + host, "dns:localhost", "ip:127.0.0.1"));
            if (!o.bindAddress.isAnyLocalAddress()) {
                san.add("ip:" + o.bindAddress.getHostAddress());
            }
            Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
            Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "cairn", "-keyalg", "EC",
                    "-groupname", "secp256r1", "-sigalg", "SHA256withECDSA", "-validity", "3650",
                    "-dname", "CN=" + host + ", O=Cairn appliance", "-ext", "SAN=" + String.join(",", san),
                    "-keystore", keystore.toString(), "-storetype", "PKCS12", "-storepass", password,
                    "-keypass", password).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new Main.UnavailableException("could not generate the web certificate: " + output.strip());
            }
            Files.setPosixFilePermissions(keystore, PosixFilePermissions.fromString("rw-------"));
            return new TlsCertificate(keystore, password);
        } catch (IOException e) {
            throw new Main.UnavailableException("could not generate the web certificate: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Main.UnavailableException("interrupted while generating the web certificate");
        }
    }
}
