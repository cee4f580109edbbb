package cairn.platform.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.ComponentConstants;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

import cairn.platform.api.health.CheckReport;

/**
 * Whether the operator's configuration files ({@code DATA/etc/*.cfg}, watched by FileInstall)
 * are in effect: each file has become a configuration, and each component configured by it
 * runs with it. FileInstall reads the directory on its own thread and Config Admin delivers
 * asynchronously, so without this check {@code /health} could say READY while, say, a
 * "signatures required" rule had not reached its service yet.
 */
final class OperatorConfiguration {

    static final String DIRECTORY = "felix.fileinstall.dir";
    static final String FILTER = "felix.fileinstall.filter";
    static final String FILENAME = "felix.fileinstall.filename";

    private final BundleContext context;
    private final ConfigurationAdmin configAdmin;
    private final ServiceComponentRuntime scr;

    OperatorConfiguration(BundleContext context, ConfigurationAdmin configAdmin, ServiceComponentRuntime scr) {
        this.context = context;
        this.configAdmin = configAdmin;
        this.scr = scr;
    }

    CheckReport check() {
        String dir = context.getProperty(DIRECTORY);
        if (dir == null) {
            return new CheckReport("configuration", true, "no operator configuration directory");
        }
        if (!Files.isDirectory(Path.of(dir))) {
            // removed by hand: nothing of the operator's to wait for (FileInstall watches for it)
            return new CheckReport("configuration", true, "no operator configuration files in " + dir);
        }
        String filter = context.getProperty(FILTER);
        Pattern wanted = Pattern.compile(filter == null ? ".*\\.(cfg|config)" : filter);
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of(dir))) {
            files = list.filter(p -> wanted.matcher(p.getFileName().toString()).matches())
                    .filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            return new CheckReport("configuration", false, "cannot list " + dir + ": " + e.getMessage());
        }
        Map<Path, Configuration> loaded = new HashMap<>();
        try {
            Configuration[] all = configAdmin.listConfigurations("(" + FILENAME + "=*)");
            for (Configuration c : all == null ? new Configuration[0] : all) {
                Object name = c.getProperties() == null ? null : c.getProperties().get(FILENAME);
                Path file = file(name);
                if (file != null) {
                    loaded.put(file, c);
                }
            }
        } catch (Exception e) {
            return new CheckReport("configuration", false, "cannot list configurations: " + e.getMessage());
        }
        List<String> pending = new ArrayList<>();
        for (Path f : files) {
            Configuration c = loaded.get(f.toAbsolutePath().normalize());
            if (c == null) {
                pending.add(f.getFileName() + " not read yet");
            } else if (!delivered(c)) {
                pending.add(f.getFileName() + " not yet applied to " + c.getPid());
            }
        }
        if (pending.isEmpty()) {
            return new CheckReport("configuration", true, files.size() + " operator file(s) in effect");
        }
        return new CheckReport("configuration", false, String.join("; ", pending));
    }

    /** Every enabled component configured by this PID (or factory PID) runs with it. */
    private boolean delivered(Configuration c) {
        String target = c.getFactoryPid() != null ? c.getFactoryPid() : c.getPid();
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            if (!Arrays.asList(d.configurationPid).contains(target) || "ignore".equals(d.configurationPolicy)
                    || !scr.isComponentEnabled(d)) {
                continue;
            }
            boolean found = false;
            for (ComponentConfigurationDTO cc : scr.getComponentConfigurationDTOs(d)) {
                found |= mentions(appliedProperties(d, cc).get(Constants.SERVICE_PID), c.getPid());
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }

    /**
     * The properties the component instance runs with. SCR shows a new configuration in the
     * DTO before it has called the component's modified method (and while an activation with
     * the old one may still be running); the service registration's properties change only
     * after that method has returned, so a component offering a service is judged by those.
     */
    private Map<String, Object> appliedProperties(ComponentDescriptionDTO d, ComponentConfigurationDTO cc) {
        if (d.serviceInterfaces != null && d.serviceInterfaces.length > 0) {
            try {
                ServiceReference<?>[] refs = context.getAllServiceReferences(null,
                        "(" + ComponentConstants.COMPONENT_ID + "=" + cc.id + ")");
                if (refs != null && refs.length > 0) {
                    Map<String, Object> props = new HashMap<>();
                    for (String key : refs[0].getPropertyKeys()) {
                        props.put(key, refs[0].getProperty(key));
                    }
                    return props;
                }
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        // no service (or not registered now): the DTO is all there is to go by
        return cc.properties;
    }

    private static boolean mentions(Object servicePid, String pid) {
        if (servicePid instanceof String s) {
            return s.equals(pid);
        }
        if (servicePid instanceof String[] a) {
            return Arrays.asList(a).contains(pid);
        }
        if (servicePid instanceof Iterable<?> i) {
            for (Object o : i) {
                if (pid.equals(o)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Path file(Object name) {
        if (name == null) {
            return null;
        }
        String s = name.toString();
        try {
            Path p = s.startsWith("file:") ? Path.of(URI.create(s)) : Path.of(s);
            return p.toAbsolutePath().normalize();
        } catch (RuntimeException e) {
            return null;
        }
    }
}
