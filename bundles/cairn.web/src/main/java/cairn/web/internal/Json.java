package cairn.web.internal;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;

import cairn.platform.api.security.Role;

/**
 * The one JSON configuration of the web bundle: ISO-8601 times, nulls written (every
 * documented field is always present), unknown request fields refused, roles in their
 * lower-case form.
 */
public final class Json {

    private Json() {
    }

    public static ObjectMapper mapper() {
        ObjectMapper mapper = new ObjectMapper();
        mapper.registerModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule());
        mapper.disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        SimpleModule cairn = new SimpleModule("cairn");
        cairn.addSerializer(Role.class, new StdSerializer<Role>(Role.class) {
            private static final long serialVersionUID = 1L;

            @Override
            public void serialize(Role value, JsonGenerator gen, SerializerProvider provider) throws IOException {
                gen.writeString(value.id());
            }
        });
        mapper.registerModule(cairn);
        return mapper;
    }
}
