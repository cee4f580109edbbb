package cairn.console.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import org.apache.felix.gogo.runtime.Reflective;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Function;
import org.apache.felix.service.command.Parameter;

import cairn.console.api.RequiredRole;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.ForbiddenException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/**
 * One contributed function as the console runs it: checks the caller's role, passes
 * the caller, audits mutating calls, renders the result as a table or JSON.
 */
final class ConsoleFunction implements Function {

    static final String JSON_FLAG = "--json";
    static final String HELP_FLAG = "--help";

    private final String scope;
    private final String function;
    private final Object target;
    private final List<Method> methods;
    private final Role role;
    private final boolean audited;
    private final boolean passesCaller;
    private final Supplier<AuditLog> audit;
    private final Output output;

    ConsoleFunction(String scope, String function, Object target, Supplier<AuditLog> audit, Output output) {
        this.scope = scope;
        this.function = function;
        this.target = target;
        this.audit = audit;
        this.output = output;
        this.methods = methodsOf(target.getClass(), function);
        Role required = Role.VIEWER;
        boolean readOnly = true;
        boolean auditedByService = true;
        boolean caller = false;
        for (Method m : methods) {
            RequiredRole r = m.getAnnotation(RequiredRole.class);
            if (r == null) {
                r = m.getDeclaringClass().getAnnotation(RequiredRole.class);
            }
            // no declaration: admin-only, and audited, so nothing opens up by omission
            Role mr = r == null ? Role.ADMIN : r.value();
            required = mr.includes(required) ? mr : required;
            readOnly &= r != null && r.readOnly();
            auditedByService &= r != null && r.auditedByService();
            caller |= firstParameterIsCaller(m);
        }
        if (methods.isEmpty()) {
            required = Role.ADMIN;
            readOnly = false;
            auditedByService = false;
        }
        this.role = required;
        this.audited = role != Role.VIEWER && !readOnly && !auditedByService;
        this.passesCaller = caller;
    }

    static List<Method> methodsOf(Class<?> type, String function) {
        String name = function.replace("-", "").toLowerCase(Locale.ROOT);
        List<Method> found = new ArrayList<>();
        for (Method m : type.getMethods()) {
            if (m.getDeclaringClass() != Object.class && !Modifier.isStatic(m.getModifiers())
                    && m.getName().toLowerCase(Locale.ROOT).equals(name)) {
                found.add(m);
            }
        }
        return found;
    }

    /**
     * Gogo fills the options ({@code @Parameter}) first and then the positional arguments in
     * order, so the caller is passed as the first positional argument: the first parameter
     * that is neither the session nor an option.
     */
    private static boolean firstParameterIsCaller(Method m) {
        Class<?>[] types = m.getParameterTypes();
        Annotation[][] annotations = m.getParameterAnnotations();
        for (int i = 0; i < types.length; i++) {
            if (types[i] == CommandSession.class
                    || Arrays.stream(annotations[i]).anyMatch(a -> a instanceof Parameter)) {
                continue;
            }
            return types[i] == Caller.class;
        }
        return false;
    }

    String scope() {
        return scope;
    }

    String function() {
        return function;
    }

    String name() {
        return scope + ":" + function;
    }

    Role role() {
        return role;
    }

    boolean audited() {
        return audited;
    }

    Object target() {
        return target;
    }

    List<Method> methods() {
        return methods;
    }

    boolean allows(Caller caller) {
        return caller.is(role);
    }

    @Override
    public Object execute(CommandSession session, List<Object> arguments) throws Exception {
        if (!(session instanceof ConsoleSession console)) {
            throw new ForbiddenException(name() + " runs only in console sessions");
        }
        Caller caller = console.caller();
        if (!allows(caller)) {
            throw new ForbiddenException(
                    name() + " needs the " + role.id() + " role; " + caller.user() + " is " + caller.role().id());
        }
        List<Object> args = new ArrayList<>(arguments == null ? List.of() : arguments);
        boolean json = args.removeIf(a -> JSON_FLAG.equals(String.valueOf(a)));
        if (args.stream().anyMatch(a -> HELP_FLAG.equals(String.valueOf(a)))) {
            System.out.print(Help.usage(this));
            return null;
        }
        if (audited && audit.get() == null) {
            throw new CairnException(CairnException.Kind.UNAVAILABLE, "unavailable",
                    "the audit log is not available right now; try again shortly");
        }
        String summary = audited ? Output.argumentSummary(args) : "";
        if (passesCaller) {
            args.add(0, caller);
        }
        Object result;
        try {
            result = Reflective.invoke(session, target, function.replace("-", ""), args);
        } catch (IllegalArgumentException e) {
            RuntimeException reported = e.getMessage() != null && e.getMessage().startsWith("Cannot coerce")
                    ? new InvalidInputException(null, "wrong arguments; usage: " + Help.synopsis(this)) : e;
            record(caller, summary, Failures.code(reported));
            throw reported;
        } catch (Exception | Error e) {
            record(caller, summary, Failures.code(e));
            throw e;
        }
        record(caller, summary, "ok");
        output.print(result, json, System.out);
        return null;
    }

    private void record(Caller caller, String summary, String result) {
        AuditLog log = audit.get();
        if (audited && log != null) {
            log.record(AuditEntry.of(caller.user(), caller.source(), "console." + scope + "." + function, summary,
                    result, ""));
        }
    }
}
