package cairn.image;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Unpacks an image archive ({@code .tar.gz}) into an empty folder, strictly: only
 * regular files and directories, every name relative and inside the folder, no entry
 * twice, and at most a configured number of bytes and entries. Anything else stops the
 * unpacking with an {@link ImageException} that names the entry.
 *
 * <p>The reader is ours rather than {@code tar} or a general archive library because the
 * point is to refuse: symbolic and hard links, devices and names that climb out are
 * rejected before a byte of them is written, and the launcher keeps a class path of
 * the JDK and the framework only.
 */
public final class ImageArchive {

    /** Bounds of one archive. */
    public record Limits(long maxBytes, int maxEntries) {
        /** Generous for an image (tens of MB today), tight enough to stop a decompression bomb. */
        public static final Limits DEFAULT = new Limits(1L << 30, 20_000);
    }

    private static final int BLOCK = 512;

    private final InputStream in;
    private final Path root;
    private final Limits limits;
    private long bytes;
    private int entries;

    private ImageArchive(InputStream in, Path root, Limits limits) {
        this.in = in;
        this.root = root.toAbsolutePath().normalize();
        this.limits = limits;
    }

    /**
     * Unpacks the gzip-compressed tar stream into {@code target} (an empty folder) and
     * checks that the result is a complete image.
     *
     * @return the unpacked image
     * @throws ImageException when the stream is not such an archive or holds something unsafe
     */
    public static Image unpack(InputStream gzip, Path target, Limits limits) throws IOException {
        GZIPInputStream tar;
        try {
            tar = new GZIPInputStream(gzip, 64 << 10);
        } catch (ZipException | EOFException e) {
            throw ImageException.invalid("not a .tar.gz image archive (" + e.getMessage() + ")");
        }
        try {
            new ImageArchive(tar, target, limits).unpackAll();
        } catch (ZipException e) {
            throw ImageException.invalid("the image archive is corrupt: " + e.getMessage());
        } catch (EOFException e) {
            throw ImageException.invalid("the image archive is truncated");
        }
        return check(target);
    }

    /** The checks an unpacked image must pass before it may be staged. */
    public static Image check(Path dir) throws IOException {
        Path cairn = dir.resolve("bin/cairn");
        if (!Files.isRegularFile(cairn)) {
            throw ImageException.invalid("the archive holds no bin/cairn: not a Cairn image");
        }
        if (!Files.isDirectory(dir.resolve("bundles"))) {
            throw ImageException.invalid("the archive holds no bundles/ folder: not a Cairn image");
        }
        if (!Files.isRegularFile(dir.resolve("etc/image.properties"))) {
            throw ImageException.invalid("the archive holds no etc/image.properties (version and role)");
        }
        Image image = Image.at(dir);
        if (image.version().isBlank() || image.version().equals("unknown")) {
            throw ImageException.invalid("etc/image.properties names no version");
        }
        if (image.bundles().isEmpty()) {
            throw ImageException.invalid("the image has no bundles in bundles/");
        }
        for (Path jar : image.bundles()) {
            try (JarFile j = new JarFile(jar.toFile())) {
                if (j.getManifest() == null || j.getManifest().getMainAttributes().getValue("Bundle-SymbolicName") == null) {
                    throw ImageException.invalid("bundles/" + jar.getFileName() + " is not an OSGi bundle");
                }
            } catch (ZipException e) {
                throw ImageException.invalid("bundles/" + jar.getFileName() + " is not a readable jar: " + e.getMessage());
            }
        }
        boolean launcher = false;
        for (Path jar : image.libraries()) {
            try (JarFile j = new JarFile(jar.toFile())) {
                launcher |= j.getEntry("cairn/launcher/Main.class") != null;
            } catch (ZipException e) {
                throw ImageException.invalid("lib/" + jar.getFileName() + " is not a readable jar: " + e.getMessage());
            }
        }
        if (!launcher) {
            throw ImageException.invalid("the image's lib/ holds no launcher (cairn.launcher.Main)");
        }
        return image;
    }

    private void unpackAll() throws IOException {
        byte[] header = new byte[BLOCK];
        String longName = null;
        String paxPath = null;
        long paxSize = -1;
        while (true) {
            if (!readBlock(header)) {
                throw new EOFException();
            }
            if (isZero(header)) {
                // end of archive: one or two zero blocks; anything after is padding
                return;
            }
            verifyChecksum(header);
            char type = (char) header[156];
            long size = paxSize >= 0 ? paxSize : octal(header, 124, 12);
            String name = longName != null ? longName : paxPath != null ? paxPath : headerName(header);
            switch (type) {
            case 'L' -> {
                longName = trimNul(new String(readContent(size), StandardCharsets.UTF_8));
                continue;
            }
            case 'x' -> {
                String[] pax = pax(readContent(size));
                paxPath = pax[0];
                paxSize = pax[1] == null ? -1 : parseSize(pax[1]);
                continue;
            }
            case 'g' -> {
                readContent(size);
                continue;
            }
            default -> {
                // an ordinary entry follows; the extended headers were for it alone
            }
            }
            longName = null;
            paxPath = null;
            paxSize = -1;
            if (++entries > limits.maxEntries()) {
                throw ImageException.invalid("the archive has more than " + limits.maxEntries() + " entries");
            }
            Path target = resolve(name);
            switch (type) {
            case '0', '\0', '7' -> writeFile(name, target, size, octal(header, 100, 8));
            case '5' -> {
                if (target != null) {
                    Files.createDirectories(target);
                }
                skip(size);
            }
            case '1' -> throw ImageException.invalid("entry " + name + " is a hard link; an image holds only files and folders");
            case '2' -> throw ImageException.invalid("entry " + name + " is a symbolic link; an image holds only files and folders");
            default -> throw ImageException.invalid("entry " + name + " is of tar type '" + type
                    + "' (device, fifo or unknown); an image holds only files and folders");
            }
        }
    }

    /** The entry's place under the root, or null for the root itself; refuses names that leave it. */
    private Path resolve(String name) {
        if (name.isEmpty() || name.indexOf('\0') >= 0 || name.indexOf('\\') >= 0) {
            throw ImageException.invalid("entry '" + printable(name) + "' has an invalid name");
        }
        if (name.startsWith("/")) {
            throw ImageException.invalid("entry " + name + " has an absolute path; image entries are relative");
        }
        StringBuilder clean = new StringBuilder();
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw ImageException.invalid("entry " + name + " climbs out of the image (..)");
            }
            if (clean.length() > 0) {
                clean.append('/');
            }
            clean.append(part);
        }
        if (clean.length() == 0) {
            return null;
        }
        Path p = root.resolve(clean.toString()).normalize();
        if (!p.startsWith(root) || p.equals(root)) {
            throw ImageException.invalid("entry " + name + " lies outside the image");
        }
        return p;
    }

    private void writeFile(String name, Path target, long size, long mode) throws IOException {
        if (target == null) {
            throw ImageException.invalid("entry '" + name + "' is a file without a name");
        }
        if (bytes + size > limits.maxBytes()) {
            throw ImageException.invalid("the image unpacks to more than " + limits.maxBytes()
                    + " bytes; it is too large");
        }
        bytes += size;
        Files.createDirectories(target.getParent());
        try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            copy(size, out);
        } catch (FileAlreadyExistsException e) {
            throw ImageException.invalid("entry " + name + " appears twice in the archive");
        }
        skipPadding(size);
        if ((mode & 0100) != 0) {
            try {
                Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(target));
                perms.add(PosixFilePermission.OWNER_EXECUTE);
                perms.add(PosixFilePermission.GROUP_EXECUTE);
                perms.add(PosixFilePermission.OTHERS_EXECUTE);
                Files.setPosixFilePermissions(target, perms);
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: nothing to keep
            }
        }
    }

    private void copy(long size, OutputStream out) throws IOException {
        byte[] buffer = new byte[64 << 10];
        long left = size;
        while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new EOFException();
            }
            out.write(buffer, 0, n);
            left -= n;
        }
    }

    private byte[] readContent(long size) throws IOException {
        if (size > (1 << 20)) {
            throw ImageException.invalid("an extended tar header of " + size + " bytes is not plausible");
        }
        byte[] content = in.readNBytes((int) size);
        if (content.length != size) {
            throw new EOFException();
        }
        skipPadding(size);
        return content;
    }

    private void skip(long size) throws IOException {
        // skipNBytes throws EOFException at a premature end
        in.skipNBytes(size + padding(size));
    }

    private void skipPadding(long size) throws IOException {
        in.skipNBytes(padding(size));
    }

    private static long padding(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private boolean readBlock(byte[] block) throws IOException {
        int n = in.readNBytes(block, 0, BLOCK);
        if (n == 0) {
            return false;
        }
        if (n < BLOCK) {
            throw new EOFException();
        }
        return true;
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static void verifyChecksum(byte[] header) {
        long expected = octal(header, 148, 8);
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xff);
        }
        if (sum != expected) {
            throw ImageException.invalid("not a tar archive inside the gzip stream (header checksum mismatch)");
        }
    }

    /** ustar name with its prefix field. */
    private static String headerName(byte[] h) {
        String name = field(h, 0, 100);
        boolean ustar = new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        String prefix = ustar ? field(h, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String field(byte[] h, int offset, int length) {
        int end = offset;
        while (end < offset + length && h[end] != 0) {
            end++;
        }
        return new String(h, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] h, int offset, int length) {
        if ((h[offset] & 0x80) != 0) {
            throw ImageException.invalid("the archive has an entry larger than 8 GiB; it is too large");
        }
        String s = field(h, offset, length).trim();
        if (s.isEmpty()) {
            return 0;
        }
        try {
            return Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw ImageException.invalid("not a tar archive inside the gzip stream (bad number '" + printable(s) + "')");
        }
    }

    /** The path and size records of a pax extended header ({@code "LEN key=value\n"} each). */
    private static String[] pax(byte[] content) {
        String[] result = new String[2];
        int i = 0;
        while (i < content.length) {
            int space = i;
            while (space < content.length && content[space] != ' ') {
                space++;
            }
            int len;
            try {
                len = Integer.parseInt(new String(content, i, space - i, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                throw ImageException.invalid("the archive has a malformed pax header");
            }
            if (len <= space - i || i + len > content.length) {
                throw ImageException.invalid("the archive has a malformed pax header");
            }
            String record = new String(content, space + 1, i + len - space - 2, StandardCharsets.UTF_8);
            int eq = record.indexOf('=');
            if (eq > 0) {
                String key = record.substring(0, eq);
                String value = record.substring(eq + 1);
                if (key.equals("path")) {
                    result[0] = value;
                } else if (key.equals("size")) {
                    result[1] = value;
                } else if (key.equals("linkpath")) {
                    throw ImageException.invalid("the archive has a link (" + value + "); an image holds only files and folders");
                }
            }
            i += len;
        }
        return result;
    }

    private static long parseSize(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw ImageException.invalid("the archive has a malformed pax size '" + printable(s) + "'");
        }
    }

    private static String trimNul(String s) {
        int nul = s.indexOf('\0');
        return nul < 0 ? s : s.substring(0, nul);
    }

    private static String printable(String s) {
        return s.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
