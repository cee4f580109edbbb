package cairn.itests.system;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** A plain HTTP client for the REST API, as a script would use it. */
final class Api {

    static final ObjectMapper JSON = new ObjectMapper();

    private final String base;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    Api(String httpUrl) {
        this.base = httpUrl;
    }

    /** One response: status, headers and the body parsed as JSON when it is JSON. */
    record Reply(int status, HttpResponse<String> raw) {
        JsonNode json() {
            try {
                return JSON.readTree(raw.body());
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + raw.body(), e);
            }
        }

        String header(String name) {
            return raw.headers().firstValue(name).orElse(null);
        }

        String error() {
            return json().path("error").asText();
        }

        @Override
        public String toString() {
            return status + " " + raw.body();
        }
    }

    static Map<String, String> basic(String user, String password) {
        return Map.of("Authorization", "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }

    static Map<String, String> bearer(String secret) {
        return Map.of("Authorization", "Bearer " + secret);
    }

    static Map<String, String> headers(Map<String, String> a, String... more) {
        Map<String, String> all = new LinkedHashMap<>(a);
        for (int i = 0; i + 1 < more.length; i += 2) {
            all.put(more[i], more[i + 1]);
        }
        return all;
    }

    Reply get(String path, Map<String, String> headers) {
        return send("GET", path, headers, null, null);
    }

    Reply delete(String path, Map<String, String> headers) {
        return send("DELETE", path, headers, null, null);
    }

    Reply post(String path, Map<String, String> headers, Object body) {
        return send("POST", path, headers, body, "application/json");
    }

    Reply put(String path, Map<String, String> headers, Object body) {
        return send("PUT", path, headers, body, "application/json");
    }

    /** body: a String is sent as is (to send broken JSON), anything else as JSON. */
    Reply send(String method, String path, Map<String, String> headers, Object body, String contentType) {
        try {
            String text = body == null ? null : body instanceof String s ? s : JSON.writeValueAsString(body);
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                    .method(method, text == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(text));
            if (contentType != null && text != null) {
                b.header("Content-Type", contentType);
            }
            headers.forEach(b::header);
            HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r);
        } catch (IOException e) {
            throw new AssertionError(method + " " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * Creates a volume and attaches it to {@code instanceId} through REST, as a client would;
     * returns the attachment (with {@code volumeId}, {@code uri}, ...). Both must answer 201.
     */
    JsonNode createAndAttach(Map<String, String> caller, String name, long sizeBytes, String instanceId) {
        Reply created = post("/api/v1/volumes", caller, Map.of("name", name, "sizeBytes", sizeBytes));
        if (created.status() != 201) {
            throw new AssertionError("create " + name + ": " + created);
        }
        Reply attached = post("/api/v1/volumes/" + created.json().get("id").asText() + "/attachments", caller,
                Map.of("instanceId", instanceId));
        if (attached.status() != 201) {
            throw new AssertionError("attach " + name + " to " + instanceId + ": " + attached);
        }
        return attached.json();
    }

    HttpClient client() {
        return client;
    }

    String base() {
        return base;
    }
}
