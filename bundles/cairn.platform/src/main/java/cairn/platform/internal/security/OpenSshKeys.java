package cairn.platform.internal.security;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

import cairn.platform.api.errors.InvalidInputException;

/**
 * The OpenSSH public key formats, with the JDK only: authorized_keys lines, the wire
 * format of key blobs (RFC 4253, 5656, 8709), and the SHA256 fingerprint as
 * {@code ssh-keygen -l} prints it. Keys offered at login arrive as {@link PublicKey}
 * objects from whatever provider the SSH server uses; they are turned into the same
 * canonical blob and compared byte for byte with the stored one.
 */
final class OpenSshKeys {

    static final String RSA = "ssh-rsa";
    static final String ED25519 = "ssh-ed25519";
    /** OpenSSH curve identifiers and the JDK's names for them. */
    private static final Map<String, String> CURVES = Map.of(
            "nistp256", "secp256r1", "nistp384", "secp384r1", "nistp521", "secp521r1");
    /** SubjectPublicKeyInfo of an Ed25519 key: this 12-byte header, then the 32-byte key (RFC 8410). */
    private static final byte[] ED25519_SPKI_HEADER = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03,
            0x21, 0x00 };

    /** One parsed authorized_keys line. */
    record ParsedKey(String type, byte[] blob, String comment) {
        String base64() {
            return Base64.getEncoder().encodeToString(blob);
        }

        String fingerprint() {
            return OpenSshKeys.fingerprint(blob);
        }

        /** The line in canonical form: type, key, comment (options dropped). */
        String line() {
            return type + " " + base64() + (comment.isEmpty() ? "" : " " + comment);
        }
    }

    private OpenSshKeys() {
    }

    /**
     * Parses {@code [options] type base64 [comment]}. Options (from="...", command=...)
     * are refused rather than silently ignored: the console does not enforce them.
     */
    static ParsedKey parse(String line) {
        if (line == null || line.isBlank()) {
            throw new InvalidInputException("publicKey", "is empty; paste one line of an authorized_keys or .pub file");
        }
        String trimmed = line.strip();
        if (trimmed.contains("\n") || trimmed.contains("\r")) {
            throw new InvalidInputException("publicKey", "must be a single line");
        }
        String[] parts = trimmed.split("\\s+", 3);
        if (parts.length < 2) {
            throw new InvalidInputException("publicKey", "expected '<type> <base64> [comment]'");
        }
        String type = parts[0];
        if (!isKnownType(type)) {
            throw new InvalidInputException("publicKey", "unsupported key type '" + abbreviate(type)
                    + "' (supported: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521; options are not accepted)");
        }
        byte[] blob;
        try {
            blob = Base64.getDecoder().decode(parts[1]);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("publicKey", "the key is not valid base64");
        }
        String comment = parts.length > 2 ? parts[2].strip() : "";
        if (comment.length() > 256) {
            throw new InvalidInputException("publicKey", "the comment is longer than 256 characters");
        }
        validate(type, blob);
        return new ParsedKey(type, blob, comment);
    }

    /** {@code SHA256:} and the unpadded base64 of the blob's digest, as OpenSSH prints it. */
    static String fingerprint(byte[] blob) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(blob);
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The wire blob of a key from any provider, or empty when the key type is not supported. */
    static Optional<byte[]> blobOf(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) {
            Wire w = new Wire();
            w.string(RSA);
            w.mpint(rsa.getPublicExponent());
            w.mpint(rsa.getModulus());
            return Optional.of(w.bytes());
        }
        if (key instanceof ECPublicKey ec) {
            String curve = switch (ec.getParams().getCurve().getField().getFieldSize()) {
            case 256 -> "nistp256";
            case 384 -> "nistp384";
            case 521 -> "nistp521";
            default -> null;
            };
            if (curve == null) {
                return Optional.empty();
            }
            int size = (ec.getParams().getCurve().getField().getFieldSize() + 7) / 8;
            byte[] point = new byte[1 + 2 * size];
            point[0] = 0x04;
            copyUnsigned(ec.getW().getAffineX(), point, 1, size);
            copyUnsigned(ec.getW().getAffineY(), point, 1 + size, size);
            Wire w = new Wire();
            w.string("ecdsa-sha2-" + curve);
            w.string(curve);
            w.string(point);
            return Optional.of(w.bytes());
        }
        // Ed25519 keys come from the JDK (EdECPublicKey) or from another provider (EdDSA);
        // both encode as the RFC 8410 SubjectPublicKeyInfo.
        String algorithm = key.getAlgorithm();
        byte[] encoded = key.getEncoded();
        if (("Ed25519".equalsIgnoreCase(algorithm) || "EdDSA".equalsIgnoreCase(algorithm)) && encoded != null
                && encoded.length == ED25519_SPKI_HEADER.length + 32
                && Arrays.equals(encoded, 0, ED25519_SPKI_HEADER.length, ED25519_SPKI_HEADER, 0,
                        ED25519_SPKI_HEADER.length)) {
            Wire w = new Wire();
            w.string(ED25519);
            w.string(Arrays.copyOfRange(encoded, ED25519_SPKI_HEADER.length, encoded.length));
            return Optional.of(w.bytes());
        }
        return Optional.empty();
    }

    private static boolean isKnownType(String type) {
        return type.equals(RSA) || type.equals(ED25519)
                || type.startsWith("ecdsa-sha2-") && CURVES.containsKey(type.substring("ecdsa-sha2-".length()));
    }

    /** Reads the blob field by field and builds the JDK key, so a damaged key is refused now, not at login. */
    private static void validate(String type, byte[] blob) {
        try {
            ByteBuffer in = ByteBuffer.wrap(blob);
            String inner = new String(readString(in), StandardCharsets.US_ASCII);
            if (!inner.equals(type)) {
                throw new InvalidInputException("publicKey", "the key says it is '" + abbreviate(inner)
                        + "' but the line says '" + type + "'");
            }
            switch (type) {
            case RSA -> {
                BigInteger e = new BigInteger(readString(in));
                BigInteger n = new BigInteger(readString(in));
                if (n.signum() <= 0 || e.signum() <= 0) {
                    throw new InvalidInputException("publicKey", "the RSA key is damaged");
                }
                if (n.bitLength() < 2048) {
                    throw new InvalidInputException("publicKey", "RSA keys must have at least 2048 bits, this one has "
                            + n.bitLength());
                }
                KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
            }
            case ED25519 -> {
                if (readString(in).length != 32) {
                    throw new InvalidInputException("publicKey", "an Ed25519 key has 32 bytes");
                }
            }
            default -> {
                String curve = new String(readString(in), StandardCharsets.US_ASCII);
                if (!type.equals("ecdsa-sha2-" + curve)) {
                    throw new InvalidInputException("publicKey", "the curve does not match the key type");
                }
                byte[] point = readString(in);
                AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
                params.init(new ECGenParameterSpec(CURVES.get(curve)));
                ECParameterSpec spec = params.getParameterSpec(ECParameterSpec.class);
                int size = (spec.getCurve().getField().getFieldSize() + 7) / 8;
                if (point.length != 1 + 2 * size || point[0] != 0x04) {
                    throw new InvalidInputException("publicKey", "the EC point is not in uncompressed form");
                }
                BigInteger x = new BigInteger(1, Arrays.copyOfRange(point, 1, 1 + size));
                BigInteger y = new BigInteger(1, Arrays.copyOfRange(point, 1 + size, point.length));
                KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(x, y), spec));
            }
            }
            if (in.hasRemaining()) {
                throw new InvalidInputException("publicKey", "the key has trailing bytes");
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            if (e instanceof InvalidInputException invalid) {
                throw invalid;
            }
            throw new InvalidInputException("publicKey", "the key is damaged (" + type + ")");
        }
    }

    private static byte[] readString(ByteBuffer in) {
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new InvalidInputException("publicKey", "the key is truncated");
        }
        byte[] bytes = new byte[length];
        in.get(bytes);
        return bytes;
    }

    private static void copyUnsigned(BigInteger value, byte[] target, int offset, int size) {
        byte[] raw = value.toByteArray();
        int skip = raw.length > size ? raw.length - size : 0;
        int len = raw.length - skip;
        System.arraycopy(raw, skip, target, offset + size - len, len);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /** Writes SSH wire-format strings and mpints. */
    private static final class Wire {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void string(String s) {
            string(s.getBytes(StandardCharsets.US_ASCII));
        }

        void string(byte[] b) {
            out.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
            out.writeBytes(b);
        }

        /** Two's complement, minimal length: exactly what BigInteger.toByteArray gives. */
        void mpint(BigInteger v) {
            string(v.signum() == 0 ? new byte[0] : v.toByteArray());
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
