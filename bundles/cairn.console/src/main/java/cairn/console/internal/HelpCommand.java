package cairn.console.internal;

import java.util.List;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.console.api.RequiredRole;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/** {@code help}: the commands this caller may run, or the full usage of one. */
@Component(service = HelpCommand.class)
@GogoCommand(scope = "cairn", function = "help")
public class HelpCommand {

    private final CommandCatalog catalog;

    @Activate
    public HelpCommand(@Reference CommandCatalog catalog) {
        this.catalog = catalog;
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("list the commands you may run")
    public String help(Caller caller) {
        List<ConsoleFunction> functions = catalog.functions(caller);
        int width = functions.stream().mapToInt(f -> f.name().length()).max().orElse(4);
        StringBuilder b = new StringBuilder("Commands (type 'help COMMAND' or 'COMMAND --help' for its options; "
                + "add --json for JSON):\n");
        for (ConsoleFunction f : functions) {
            b.append(String.format("  %-" + width + "s  %s%n", f.name(), Help.summary(f)));
        }
        b.append(String.format("  %-" + width + "s  %s%n", "exit", "close the session (also Ctrl-D)"));
        return b.toString();
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("show the description, arguments and options of one command")
    public String help(Caller caller, @Descriptor("command name, e.g. user:add") String command) {
        ConsoleFunction f = catalog.find(command).filter(c -> c.allows(caller))
                .orElseThrow(() -> new NotFoundException("command", command));
        return Help.usage(f);
    }
}
