package cairn.console.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;

import cairn.platform.api.security.Caller;

/** Usage text read from Gogo's {@code @Descriptor} and {@code @Parameter} annotations. */
final class Help {

    private Help() {
    }

    /** The function's one-line description. */
    static String summary(ConsoleFunction f) {
        for (Method m : f.methods()) {
            Descriptor d = m.getAnnotation(Descriptor.class);
            if (d != null) {
                return d.value();
            }
        }
        return "";
    }

    /** {@code user:add [options] NAME}, one line per overload joined by " | ". */
    static String synopsis(ConsoleFunction f) {
        List<String> forms = new ArrayList<>();
        for (Method m : f.methods()) {
            StringBuilder b = new StringBuilder(f.name());
            if (!options(m).isEmpty()) {
                b.append(" [options]");
            }
            for (Param p : positional(m)) {
                b.append(' ').append(p.name());
            }
            forms.add(b.toString());
        }
        return forms.isEmpty() ? f.name() : String.join(" | ", forms);
    }

    /** The full help of one function: description, usage, arguments, options. */
    static String usage(ConsoleFunction f) {
        StringBuilder b = new StringBuilder();
        b.append(f.name()).append(" - ").append(summary(f)).append('\n');
        b.append("usage: ").append(synopsis(f)).append('\n');
        b.append("role:  ").append(f.role().id()).append(f.audited() ? " (audited)" : "").append('\n');
        Set<String> seen = new TreeSet<>();
        for (Method m : f.methods()) {
            List<Param> args = positional(m);
            if (!args.isEmpty()) {
                b.append("arguments:\n");
                for (Param p : args) {
                    if (seen.add("arg " + p.name())) {
                        b.append(String.format("  %-24s %s%n", p.name(), p.description()));
                    }
                }
            }
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (Method m : f.methods()) {
            options.putAll(options(m));
        }
        options.put(ConsoleFunction.JSON_FLAG, "print the result as JSON");
        options.put(ConsoleFunction.HELP_FLAG, "print this help");
        b.append("options:\n");
        options.forEach((k, v) -> b.append(String.format("  %-24s %s%n", k, v)));
        return b.toString();
    }

    /** Option forms such as {@code -n, --lines N} with their descriptions. */
    static Map<String, String> options(Method m) {
        Map<String, String> out = new LinkedHashMap<>();
        Annotation[][] annotations = m.getParameterAnnotations();
        Class<?>[] types = m.getParameterTypes();
        for (int i = 0; i < annotations.length; i++) {
            Parameter p = find(annotations[i], Parameter.class);
            if (p == null) {
                continue;
            }
            Descriptor d = find(annotations[i], Descriptor.class);
            String form = String.join(", ", p.names());
            boolean flag = types[i] == boolean.class || types[i] == Boolean.class;
            if (!flag) {
                form += " " + metavar(d, types[i]);
            }
            String text = d == null ? "" : d.value();
            if (!flag && !Parameter.UNSPECIFIED.equals(p.absentValue()) && p.absentValue() != null
                    && !p.absentValue().isEmpty()) {
                text += " (default " + p.absentValue() + ")";
            }
            out.put(form, text);
        }
        return out;
    }

    static List<String> optionNames(Method m) {
        List<String> names = new ArrayList<>();
        for (Annotation[] annotations : m.getParameterAnnotations()) {
            Parameter p = find(annotations, Parameter.class);
            if (p != null) {
                names.addAll(List.of(p.names()));
            }
        }
        return names;
    }

    /** Sorts a method's option names into flags (no value) and options that take a value. */
    static void optionNames(Method m, Set<String> flags, Set<String> valued) {
        Annotation[][] annotations = m.getParameterAnnotations();
        for (int i = 0; i < annotations.length; i++) {
            Parameter p = find(annotations[i], Parameter.class);
            if (p != null) {
                boolean flag = !Parameter.UNSPECIFIED.equals(p.presentValue());
                (flag ? flags : valued).addAll(List.of(p.names()));
            }
        }
    }

    record Param(String name, String description) {
    }

    static List<Param> positional(Method m) {
        List<Param> out = new ArrayList<>();
        Annotation[][] annotations = m.getParameterAnnotations();
        Class<?>[] types = m.getParameterTypes();
        for (int i = 0; i < annotations.length; i++) {
            if (types[i] == CommandSession.class || types[i] == Caller.class
                    || find(annotations[i], Parameter.class) != null) {
                continue;
            }
            Descriptor d = find(annotations[i], Descriptor.class);
            out.add(new Param(metavar(d, types[i]), d == null ? "" : d.value()));
        }
        return out;
    }

    /** The first word of the description, upper-cased, names the value: "user name" reads USER. */
    private static String metavar(Descriptor d, Class<?> type) {
        if (d == null || d.value().isBlank()) {
            return type.getSimpleName().toUpperCase();
        }
        return d.value().split("[\\s(,;:]+")[0].toUpperCase();
    }

    private static <A extends Annotation> A find(Annotation[] annotations, Class<A> type) {
        for (Annotation a : annotations) {
            if (type.isInstance(a)) {
                return type.cast(a);
            }
        }
        return null;
    }
}
