package cairn.console.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.threadio.ThreadIO;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.util.tracker.ServiceTracker;

import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.security.Caller;

/**
 * Every command contributed as a service ({@code osgi.command.scope}/{@code osgi.command.function}),
 * wrapped in a {@link ConsoleFunction} and added to the console's own Gogo processor.
 * Commands come and go with their bundles; sessions see the change at once.
 */
@Component(service = CommandCatalog.class)
public class CommandCatalog {

    private static final String FILTER = "(&(" + CommandProcessor.COMMAND_SCOPE + "=*)("
            + CommandProcessor.COMMAND_FUNCTION + "=*))";

    private final ConsoleProcessor processor;
    private final ServiceTracker<Object, List<ConsoleFunction>> tracker;
    private final Output output = new Output();
    private final ExecutorService tracking;

    /** Greedy and dynamic: the platform may be updated while sessions stay open. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile AuditLog audit;

    @Activate
    public CommandCatalog(BundleContext context, @Reference ThreadIO threadIO) throws InvalidSyntaxException {
        this.processor = new ConsoleProcessor(threadIO);
        Filter filter = FrameworkUtil.createFilter(FILTER);
        this.tracker = new ServiceTracker<>(context, filter, null) {
            @Override
            public List<ConsoleFunction> addingService(ServiceReference<Object> ref) {
                Object service = context.getService(ref);
                if (service == null) {
                    return null;
                }
                List<ConsoleFunction> added = new ArrayList<>();
                String scope = String.valueOf(ref.getProperty(CommandProcessor.COMMAND_SCOPE));
                for (String function : names(ref.getProperty(CommandProcessor.COMMAND_FUNCTION))) {
                    ConsoleFunction f = new ConsoleFunction(scope, function, service, () -> audit, output);
                    processor.addCommand(scope, f, function, ranking(ref));
                    added.add(f);
                }
                return added;
            }

            @Override
            public void removedService(ServiceReference<Object> ref, List<ConsoleFunction> functions) {
                for (ConsoleFunction f : functions) {
                    processor.removeCommand(f.scope(), f.function(), f);
                }
                context.ungetService(ref);
            }
        };
        // Opened on our own thread, after activation: command services may depend (through the
        // health checks the readiness service tracks) on components that depend on this one.
        tracking = Executors.newSingleThreadExecutor(r -> new Thread(r, "cairn-console-commands"));
        tracking.execute(tracker::open);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        tracking.shutdown();
        tracking.awaitTermination(30, TimeUnit.SECONDS);
        tracker.close();
        processor.stop();
    }

    private static List<String> names(Object property) {
        List<String> names = new ArrayList<>();
        if (property instanceof String[] a) {
            names.addAll(List.of(a));
        } else if (property instanceof Collection<?> c) {
            c.forEach(o -> names.add(String.valueOf(o)));
        } else if (property != null) {
            names.add(String.valueOf(property));
        }
        return names;
    }

    private static int ranking(ServiceReference<?> ref) {
        return ref.getProperty("service.ranking") instanceof Integer i ? i : 0;
    }

    ConsoleProcessor processor() {
        return processor;
    }

    Output output() {
        return output;
    }

    /** Every function, sorted by name. */
    List<ConsoleFunction> functions() {
        List<ConsoleFunction> all = new ArrayList<>();
        tracker.getTracked().values().forEach(all::addAll);
        all.sort(Comparator.comparing(ConsoleFunction::name));
        return all;
    }

    /** The functions this caller may run. */
    List<ConsoleFunction> functions(Caller caller) {
        return functions().stream().filter(f -> f.allows(caller)).toList();
    }

    /**
     * A function by its full ({@code user:add}) or short ({@code add}) name, resolved as
     * sessions resolve it: the cairn scope first, then any.
     */
    Optional<ConsoleFunction> find(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        List<ConsoleFunction> all = functions();
        if (n.contains(":")) {
            return all.stream().filter(f -> f.name().equalsIgnoreCase(n)).findFirst();
        }
        return all.stream().filter(f -> f.function().equalsIgnoreCase(n))
                .min(Comparator.comparing(f -> f.scope().equals("cairn") ? 0 : 1));
    }
}
