package cairn.console.internal;

import java.io.PrintStream;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * Renders what a command returns: tables for lists of records, aligned {@code key: value}
 * lines for one record, JSON (the same shapes REST uses) with {@code --json}.
 */
final class Output {

    private final ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);

    void print(Object result, boolean asJson, PrintStream out) {
        if (asJson) {
            out.println(json(result));
        } else if (result != null) {
            String text = text(result);
            if (!text.isEmpty()) {
                out.print(text.endsWith("\n") ? text : text + "\n");
            }
        }
        out.flush();
    }

    String json(Object value) {
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the result as JSON: " + e.getOriginalMessage(), e);
        }
    }

    String text(Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof CharSequence s) {
            return s.toString();
        }
        if (value.getClass().isArray() && !value.getClass().getComponentType().isPrimitive()) {
            return text(Arrays.asList((Object[]) value));
        }
        if (value instanceof Collection<?> c) {
            if (c.isEmpty()) {
                return "(none)";
            }
            if (c.stream().allMatch(e -> e != null && e.getClass().isRecord()
                    && e.getClass() == c.iterator().next().getClass())) {
                return table(new ArrayList<>(c));
            }
            StringBuilder b = new StringBuilder();
            c.forEach(e -> b.append(scalar(e)).append('\n'));
            return b.toString();
        }
        if (value.getClass().isRecord()) {
            return record((Record) value);
        }
        if (value instanceof Map<?, ?> m) {
            List<String[]> rows = new ArrayList<>();
            m.forEach((k, v) -> rows.add(new String[] { String.valueOf(k), scalar(v) }));
            return keyValues(rows);
        }
        return scalar(value);
    }

    private String record(Record r) {
        List<String[]> scalars = new ArrayList<>();
        StringBuilder lists = new StringBuilder();
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            Object v = read(c, r);
            if (v instanceof Collection<?> coll) {
                lists.append('\n').append(label(c.getName())).append(":\n").append(text(coll));
                if (!coll.isEmpty() && lists.charAt(lists.length() - 1) != '\n') {
                    lists.append('\n');
                }
            } else {
                scalars.add(new String[] { label(c.getName()), scalar(v) });
            }
        }
        return keyValues(scalars) + lists;
    }

    private static String keyValues(List<String[]> rows) {
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        StringBuilder b = new StringBuilder();
        for (String[] row : rows) {
            b.append(row[0]).append(':').append(" ".repeat(width - row[0].length() + 1)).append(row[1]).append('\n');
        }
        return b.toString();
    }

    private String table(List<Object> rows) {
        RecordComponent[] columns = rows.get(0).getClass().getRecordComponents();
        List<String[]> cells = new ArrayList<>();
        String[] header = new String[columns.length];
        for (int i = 0; i < columns.length; i++) {
            header[i] = label(columns[i].getName()).toUpperCase(Locale.ROOT);
        }
        cells.add(header);
        for (Object row : rows) {
            String[] line = new String[columns.length];
            for (int i = 0; i < columns.length; i++) {
                line[i] = scalar(read(columns[i], row));
            }
            cells.add(line);
        }
        int[] widths = new int[columns.length];
        for (String[] line : cells) {
            for (int i = 0; i < line.length; i++) {
                widths[i] = Math.max(widths[i], line[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] line : cells) {
            for (int i = 0; i < line.length; i++) {
                b.append(line[i]);
                if (i < line.length - 1) {
                    b.append(" ".repeat(widths[i] - line[i].length() + 2));
                }
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static Object read(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName(), e);
        }
    }

    /** camelCase to words: {@code createdAt} reads "created at". */
    static String label(String name) {
        return name.replaceAll("([a-z0-9])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
    }

    static String scalar(Object v) {
        if (v == null) {
            return "-";
        }
        if (v instanceof Instant i) {
            return i.truncatedTo(ChronoUnit.SECONDS).toString();
        }
        if (v instanceof Duration d) {
            return duration(d);
        }
        if (v instanceof Enum<?> e) {
            return e.name().toLowerCase(Locale.ROOT);
        }
        if (v instanceof Boolean b) {
            return b ? "yes" : "no";
        }
        String s = String.valueOf(v);
        return s.isEmpty() ? "-" : s.replace('\n', ' ');
    }

    static String duration(Duration d) {
        long s = d.toSeconds();
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return s / 60 + "m " + s % 60 + "s";
        }
        if (s < 86400) {
            return s / 3600 + "h " + s % 3600 / 60 + "m";
        }
        return s / 86400 + "d " + s % 86400 / 3600 + "h";
    }

    /**
     * The arguments as the audit log keeps them. Values of options that name a secret are
     * replaced, so passwords given on the command line never reach the log.
     */
    static String argumentSummary(List<Object> args) {
        StringBuilder b = new StringBuilder();
        boolean hideNext = false;
        for (Object a : args) {
            String s = String.valueOf(a);
            if (b.length() > 0) {
                b.append(' ');
            }
            if (hideNext) {
                b.append("***");
                hideNext = false;
                continue;
            }
            String lower = s.toLowerCase(Locale.ROOT);
            boolean secretOption = lower.startsWith("-") && (lower.contains("password") || lower.contains("secret")
                    || lower.equals("--current"));
            if (secretOption && s.contains("=")) {
                b.append(s, 0, s.indexOf('=') + 1).append("***");
            } else {
                b.append(s);
                hideNext = secretOption;
            }
        }
        return b.toString();
    }
}
