package cairn.platform.internal;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.cm.ConfigurationPlugin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rejects configuration values that break their metatype (wrong type, out of range,
 * not one of the options). A bad update never reaches the component: the plugin hands
 * it the last good values instead, and the stored configuration is put back to them,
 * with one log line naming the PID, the property and the reason.
 */
@Component(service = { ConfigurationPlugin.class, ConfigurationListener.class }, immediate = true,
        property = { ConfigurationPlugin.CM_RANKING + ":Integer=-1000" })
public class ConfigurationGuard implements ConfigurationPlugin, ConfigurationListener {

    private static final Logger LOG = LoggerFactory.getLogger(ConfigurationGuard.class);

    private final BundleContext context;
    private final MetaTypeService metaType;
    private final ConfigurationAdmin configAdmin;
    /** The last properties of each PID that passed validation. */
    private final Map<String, Dictionary<String, Object>> lastGood = new ConcurrentHashMap<>();

    @Activate
    public ConfigurationGuard(BundleContext context, @Reference MetaTypeService metaType,
            @Reference ConfigurationAdmin configAdmin) {
        this.context = context;
        this.metaType = metaType;
        this.configAdmin = configAdmin;
        checkStoredConfigurations();
    }

    /** Configurations read before this component started (FileInstall at boot) are checked too. */
    private void checkStoredConfigurations() {
        try {
            Configuration[] all = configAdmin.listConfigurations(null);
            if (all != null) {
                for (Configuration c : all) {
                    check(c.getPid(), c.getFactoryPid());
                }
            }
        } catch (Exception e) {
            LOG.warn("Could not check stored configurations: {}", e.toString());
        }
    }

    @Override
    public void modifyConfiguration(ServiceReference<?> reference, Dictionary<String, Object> properties) {
        String pid = (String) properties.get(Constants.SERVICE_PID);
        if (pid == null) {
            return;
        }
        String factoryPid = (String) properties.get(ConfigurationAdmin.SERVICE_FACTORYPID);
        List<String> problems = validate(pid, factoryPid, properties);
        if (problems.isEmpty()) {
            lastGood.put(pid, copy(properties));
            return;
        }
        Dictionary<String, Object> good = lastGood.get(pid);
        for (String key : keys(properties)) {
            if (good != null && good.get(key) != null) {
                properties.put(key, good.get(key));
            } else if (isInvalid(key, problems)) {
                properties.remove(key);
            }
        }
    }

    @Override
    public void configurationEvent(ConfigurationEvent event) {
        if (event.getType() == ConfigurationEvent.CM_UPDATED) {
            check(event.getPid(), event.getFactoryPid());
        }
    }

    private void check(String pid, String factoryPid) {
        try {
            Configuration config = configAdmin.getConfiguration(pid, "?");
            Dictionary<String, Object> props = config.getProperties();
            if (props == null) {
                return;
            }
            List<String> problems = validate(pid, factoryPid, props);
            if (problems.isEmpty()) {
                lastGood.put(pid, copy(props));
                return;
            }
            for (String problem : problems) {
                LOG.error("Configuration {} rejected: {}; the previous value is kept", pid, problem);
            }
            Dictionary<String, Object> good = lastGood.get(pid);
            Dictionary<String, Object> restored = copy(props);
            for (String key : keys(props)) {
                if (isInvalid(key, problems)) {
                    if (good != null && good.get(key) != null) {
                        restored.put(key, good.get(key));
                    } else {
                        restored.remove(key);
                    }
                }
            }
            config.updateIfDifferent(restored);
        } catch (Exception e) {
            LOG.warn("Could not check configuration {}: {}", pid, e.toString());
        }
    }

    /** Problems are "key: reason" strings. */
    List<String> validate(String pid, String factoryPid, Dictionary<String, Object> props) {
        ObjectClassDefinition ocd = definition(pid, factoryPid);
        List<String> problems = new ArrayList<>();
        if (ocd == null) {
            return problems;
        }
        AttributeDefinition[] ads = ocd.getAttributeDefinitions(ObjectClassDefinition.ALL);
        if (ads == null) {
            return problems;
        }
        for (AttributeDefinition ad : ads) {
            Object value = props.get(ad.getID());
            if (value == null) {
                continue;
            }
            for (String v : asStrings(value)) {
                String reason = ad.validate(v);
                if (reason != null && !reason.isEmpty()) {
                    problems.add(ad.getID() + ": '" + v + "' " + reason);
                    break;
                }
            }
        }
        return problems;
    }

    private ObjectClassDefinition definition(String pid, String factoryPid) {
        for (Bundle bundle : context.getBundles()) {
            try {
                MetaTypeInformation info = metaType.getMetaTypeInformation(bundle);
                if (info == null) {
                    continue;
                }
                if (factoryPid != null && contains(info.getFactoryPids(), factoryPid)) {
                    return info.getObjectClassDefinition(factoryPid, null);
                }
                if (contains(info.getPids(), pid)) {
                    return info.getObjectClassDefinition(pid, null);
                }
            } catch (RuntimeException e) {
                // one bundle's unreadable metatype must not stop the others being checked
                LOG.debug("No metatype from {}: {}", bundle.getSymbolicName(), e.toString());
            }
        }
        return null;
    }

    private static boolean contains(String[] values, String wanted) {
        if (values != null) {
            for (String v : values) {
                if (v.equals(wanted)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean isInvalid(String key, List<String> problems) {
        for (String p : problems) {
            if (p.startsWith(key + ":")) {
                return true;
            }
        }
        return false;
    }

    private static List<String> asStrings(Object value) {
        List<String> out = new ArrayList<>();
        if (value.getClass().isArray()) {
            for (int i = 0; i < Array.getLength(value); i++) {
                out.add(String.valueOf(Array.get(value, i)));
            }
        } else if (value instanceof Collection<?> c) {
            c.forEach(v -> out.add(String.valueOf(v)));
        } else {
            out.add(String.valueOf(value));
        }
        return out;
    }

    private static List<String> keys(Dictionary<String, Object> d) {
        List<String> keys = new ArrayList<>();
        for (Enumeration<String> e = d.keys(); e.hasMoreElements();) {
            keys.add(e.nextElement());
        }
        return keys;
    }

    private static Dictionary<String, Object> copy(Dictionary<String, Object> d) {
        Hashtable<String, Object> copy = new Hashtable<>();
        for (String k : keys(d)) {
            copy.put(k, d.get(k));
        }
        return copy;
    }
}
