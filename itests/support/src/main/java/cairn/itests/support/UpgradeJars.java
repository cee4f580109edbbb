package cairn.itests.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.List;
import java.util.Properties;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Builds upgrade jars from the image's own bundles: the same code with a higher
 * Bundle-Version, or the same bundle plus a component that throws on activation.
 */
public final class UpgradeJars {

    private UpgradeJars() {
    }

    /** The image's jar of a bundle. */
    public static Path imageJar(String bsn) throws IOException {
        try (Stream<Path> s = Files.list(ApplianceProcess.image().resolve("bundles"))) {
            for (Path p : s.toList()) {
                try (JarFile j = new JarFile(p.toFile())) {
                    String name = j.getManifest().getMainAttributes().getValue("Bundle-SymbolicName");
                    if (name != null && name.split(";")[0].trim().equals(bsn)) {
                        return p;
                    }
                }
            }
        }
        throw new IllegalStateException("no " + bsn + " in the image");
    }

    public static String version(Path jar) throws IOException {
        try (JarFile j = new JarFile(jar.toFile())) {
            return j.getManifest().getMainAttributes().getValue("Bundle-Version");
        }
    }

    /** major.minor.(micro+1).qualifier: a genuinely higher version of the same code. */
    public static String higher(String version) {
        String[] p = version.split("\\.", 4);
        return p[0] + "." + p[1] + "." + (Integer.parseInt(p[2]) + 1) + (p.length > 3 ? "." + p[3] : "");
    }

    /** The same bundle with another Bundle-Version. */
    public static Path withVersion(Path source, String version, Path target) throws IOException {
        rewrite(source, target, version, List.of(), null);
        return target;
    }

    /**
     * The same bundle, a higher version, plus an immediate component whose constructor
     * throws: the jar resolves and starts, and DS reports the component as failed.
     */
    public static Path withFailingComponent(Path source, String version, String pkg, Path work, Path target)
            throws IOException {
        String simple = "BrokenOnPurpose";
        String fqcn = pkg + "." + simple;
        Path src = work.resolve("src/" + pkg.replace('.', '/') + "/" + simple + ".java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, "package " + pkg + ";\n"
                + "public class " + simple + " {\n"
                + "    public " + simple + "() {\n"
                + "        throw new IllegalStateException(\"broken on purpose by the upgrade test\");\n"
                + "    }\n"
                + "}\n");
        Path classes = work.resolve("classes");
        Files.createDirectories(classes);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int rc = javac.run(null, null, null, "--release", "17", "-d", classes.toString(), src.toString());
        if (rc != 0) {
            throw new IllegalStateException("javac failed with " + rc);
        }
        String xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\" name=\"" + fqcn
                + "\" immediate=\"true\">\n  <implementation class=\"" + fqcn + "\"/>\n</scr:component>\n";
        String classEntry = fqcn.replace('.', '/') + ".class";
        rewrite(source, target, version, List.of(
                new Extra(classEntry, Files.readAllBytes(classes.resolve(classEntry))),
                new Extra("OSGI-INF/" + fqcn + ".xml", xml.getBytes(StandardCharsets.UTF_8))),
                "OSGI-INF/" + fqcn + ".xml");
        return target;
    }

    /** Writes the jar into the deploy folder in one atomic step, as an operator's mv would. */
    public static Path drop(Path jar, Path data) throws IOException {
        Path deploy = data.resolve("deploy");
        Files.createDirectories(deploy);
        Path tmp = deploy.resolve("." + jar.getFileName() + ".part");
        Files.copy(jar, tmp, StandardCopyOption.REPLACE_EXISTING);
        return Files.move(tmp, deploy.resolve(jar.getFileName()), StandardCopyOption.ATOMIC_MOVE);
    }

    /** The .result file the deploy watcher writes, or null while there is none. */
    public static Properties result(Path data, String jarName) throws IOException {
        for (String dir : new String[] { "done", "failed" }) {
            Path r = data.resolve("deploy").resolve(dir).resolve(jarName + ".result");
            if (Files.isRegularFile(r)) {
                Properties p = new Properties();
                try (InputStream in = Files.newInputStream(r)) {
                    p.load(in);
                }
                p.setProperty("folder", dir);
                return p;
            }
        }
        return null;
    }

    private record Extra(String name, byte[] content) {
    }

    private static void rewrite(Path source, Path target, String version, List<Extra> extras, String component)
            throws IOException {
        try (JarFile in = new JarFile(source.toFile())) {
            Manifest m = new Manifest(in.getManifest());
            Attributes main = m.getMainAttributes();
            main.putValue("Bundle-Version", version);
            if (component != null) {
                String sc = main.getValue("Service-Component");
                main.putValue("Service-Component", sc == null ? component : sc + "," + component);
            }
            Files.createDirectories(target.getParent());
            try (OutputStream os = Files.newOutputStream(target); JarOutputStream out = new JarOutputStream(os, m)) {
                Enumeration<JarEntry> entries = in.entries();
                while (entries.hasMoreElements()) {
                    JarEntry e = entries.nextElement();
                    if (e.getName().equalsIgnoreCase("META-INF/MANIFEST.MF")) {
                        continue;
                    }
                    out.putNextEntry(new JarEntry(e.getName()));
                    try (InputStream data = in.getInputStream(e)) {
                        data.transferTo(out);
                    }
                    out.closeEntry();
                }
                for (Extra x : extras) {
                    out.putNextEntry(new JarEntry(x.name()));
                    out.write(x.content());
                    out.closeEntry();
                }
            }
        }
    }
}
