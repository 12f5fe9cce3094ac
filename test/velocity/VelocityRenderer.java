import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.lang.StringEscapeUtils;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

/**
 * Renders API Gateway mapping templates on Apache Velocity 1.7 (the engine API Gateway runs them on), with the
 * $input, $util and $context objects as AWS documents them:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
 *
 * One request per line on stdin, one answer per line on stdout, both JSON, so one JVM renders many templates:
 *   {"template":"…","body":"…","path":{…},"querystring":{…},"header":{…},"context":{…},"stageVariables":{…}}
 *   {"output":"…","status":503,"headers":{"Retry-After":"1"}}   or   {"error":"…"}
 * Test code only (test/velocity/velocity-renderer.ts compiles and runs it).
 */
public final class VelocityRenderer {
  private VelocityRenderer() {}

  public static void main(String[] args) throws Exception {
    VelocityEngine engine = new VelocityEngine();
    // No velocity.log in the working directory.
    engine.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
    engine.init();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), false);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      Map<String, Object> answer = new LinkedHashMap<>();
      try {
        answer = render(engine, asMap(Json.parse(line)));
      } catch (Exception | StackOverflowError error) {
        answer.put("error", error.toString());
      }
      out.println(Json.write(answer));
      out.flush();
    }
  }

  static Map<String, Object> render(VelocityEngine engine, Map<String, Object> request) throws Exception {
    String template = (String) request.get("template");
    String body = request.get("body") == null ? "" : (String) request.get("body");
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("path", stringMap(request.get("path")));
    params.put("querystring", stringMap(request.get("querystring")));
    params.put("header", stringMap(request.get("header")));

    Map<String, Object> context = new LinkedHashMap<>(asMap(request.get("context")));
    Map<String, Object> responseOverride = new OverrideMap();
    Map<String, Object> overrideHeaders = new OverrideMap();
    ((OverrideMap) responseOverride).init("header", overrideHeaders);
    context.put("responseOverride", responseOverride);
    Map<String, Object> requestOverride = new LinkedHashMap<>();
    requestOverride.put("header", new LinkedHashMap<String, Object>());
    requestOverride.put("path", new LinkedHashMap<String, Object>());
    requestOverride.put("querystring", new LinkedHashMap<String, Object>());
    context.put("requestOverride", requestOverride);

    VelocityContext velocity = new VelocityContext();
    velocity.put("input", new Input(body, params, Boolean.TRUE.equals(request.get("missingParamsAreNull"))));
    velocity.put("util", new Util());
    velocity.put("context", context);
    velocity.put("stageVariables", asMap(request.get("stageVariables")));
    StringWriter writer = new StringWriter();
    engine.evaluate(velocity, writer, "mapping-template", template);

    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("output", writer.toString());
    Object status = responseOverride.get("status");
    answer.put("status", status == null ? null : String.valueOf(status));
    Map<String, Object> headers = new LinkedHashMap<>();
    for (Map.Entry<String, Object> entry : overrideHeaders.entrySet()) {
      headers.put(entry.getKey(), String.valueOf(entry.getValue()));
    }
    answer.put("headers", headers);
    return answer;
  }

  /**
   * $context.responseOverride / requestOverride: "Overrides are final. An override may only be applied to each
   * parameter once. If you try to override the same parameter multiple times, API Gateway returns a 5XX response."
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html
   */
  static final class OverrideMap extends LinkedHashMap<String, Object> {
    void init(String key, Object value) {
      super.put(key, value);
    }

    @Override
    public Object put(String key, Object value) {
      if (containsKey(key)) throw new IllegalStateException("override of " + key + " applied twice (API Gateway answers 5XX)");
      return super.put(key, value);
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> asMap(Object value) {
    return value == null ? new LinkedHashMap<>() : (Map<String, Object>) value;
  }

  static Map<String, Object> stringMap(Object value) {
    Map<String, Object> result = new LinkedHashMap<>();
    for (Map.Entry<String, Object> entry : asMap(value).entrySet()) {
      result.put(entry.getKey(), String.valueOf(entry.getValue()));
    }
    return result;
  }

  /** $input: the request (or integration response) payload and the method request's parameters. */
  public static final class Input {
    private final String body;
    private final Map<String, Object> params;
    private final boolean missingParamsAreNull;

    Input(String body, Map<String, Object> params, boolean missingParamsAreNull) {
      this.body = body;
      this.params = params;
      this.missingParamsAreNull = missingParamsAreNull;
    }

    /** $input.body: the raw payload as a string. */
    public String getBody() {
      return body;
    }

    /** $input.json(x): the JSONPath x evaluated on the payload, as a JSON string. */
    public String json(String path) {
      return Json.write(JsonPath.evaluate(Json.parse(body.isEmpty() ? "{}" : body), path));
    }

    /** $input.path(x): the JSONPath x evaluated on the payload, as an object VTL can navigate. */
    public Object path(String path) {
      return JsonPath.evaluate(Json.parse(body.isEmpty() ? "{}" : body), path);
    }

    /** $input.params(): every parameter, by kind (path, querystring, header). */
    public Map<String, Object> params() {
      return params;
    }

    /** $input.params(x): the parameter x from the path, the query string or a header, searched in that order. */
    public String params(String name) {
      for (String kind : new String[] {"path", "querystring", "header"}) {
        Map<String, Object> values = asMap(params.get(kind));
        if (values.containsKey(name)) return (String) values.get(name);
        if (kind.equals("header")) {
          // HTTP header names are case-insensitive.
          for (Map.Entry<String, Object> entry : values.entrySet()) {
            if (entry.getKey().equalsIgnoreCase(name)) return (String) entry.getValue();
          }
        }
      }
      // A missing parameter reads as an empty string; the reference does not say, so templates are also rendered with
      // null here (missingParamsAreNull) to show they hold either way.
      return missingParamsAreNull ? null : "";
    }
  }

  /** $util, as documented. */
  public static final class Util {
    /** JavaScript string rules; single quotes become \' (which JSON does not accept). */
    public String escapeJavaScript(String value) {
      return StringEscapeUtils.escapeJavaScript(value);
    }

    public String urlEncode(String value) throws Exception {
      return URLEncoder.encode(value, "UTF-8");
    }

    public String urlDecode(String value) throws Exception {
      return URLDecoder.decode(value, "UTF-8");
    }

    public Object parseJson(String value) {
      return Json.parse(value);
    }

    public String base64Encode(String value) {
      return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
    }

    public String base64Decode(String value) {
      return new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
    }
  }

  /** The JSONPath subset mapping templates use: $, .name, ['name'], [index]. */
  static final class JsonPath {
    static Object evaluate(Object root, String path) {
      if (!path.startsWith("$")) throw new IllegalArgumentException("JSONPath must start with $: " + path);
      Object current = root;
      int i = 1;
      while (i < path.length() && current != null) {
        char c = path.charAt(i);
        if (c == '.') {
          int end = i + 1;
          while (end < path.length() && path.charAt(end) != '.' && path.charAt(end) != '[') end++;
          current = child(current, path.substring(i + 1, end));
          i = end;
        } else if (c == '[') {
          int end = path.indexOf(']', i);
          String key = path.substring(i + 1, end);
          if (key.startsWith("'")) current = child(current, key.substring(1, key.length() - 1));
          else current = current instanceof List ? ((List<?>) current).get(Integer.parseInt(key)) : null;
          i = end + 1;
        } else {
          throw new IllegalArgumentException("unsupported JSONPath: " + path);
        }
      }
      return current;
    }

    private static Object child(Object value, String key) {
      return value instanceof Map ? ((Map<?, ?>) value).get(key) : null;
    }
  }

  /** A small JSON reader and writer (objects keep their key order). */
  static final class Json {
    private final String text;
    private int at;

    private Json(String text) {
      this.text = text;
    }

    static Object parse(String text) {
      Json json = new Json(text);
      json.space();
      Object value = json.value();
      json.space();
      if (json.at != text.length()) throw json.error("trailing characters");
      return value;
    }

    private RuntimeException error(String message) {
      return new IllegalArgumentException("invalid JSON at " + at + ": " + message);
    }

    private void space() {
      while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) at++;
    }

    private Object value() {
      if (at >= text.length()) throw error("unexpected end");
      char c = text.charAt(at);
      if (c == '{') {
        Map<String, Object> object = new LinkedHashMap<>();
        at++;
        space();
        if (text.charAt(at) == '}') {
          at++;
          return object;
        }
        while (true) {
          space();
          String key = string();
          space();
          expect(':');
          space();
          object.put(key, value());
          space();
          if (text.charAt(at) == ',') {
            at++;
            continue;
          }
          expect('}');
          return object;
        }
      }
      if (c == '[') {
        List<Object> array = new ArrayList<>();
        at++;
        space();
        if (text.charAt(at) == ']') {
          at++;
          return array;
        }
        while (true) {
          space();
          array.add(value());
          space();
          if (text.charAt(at) == ',') {
            at++;
            continue;
          }
          expect(']');
          return array;
        }
      }
      if (c == '"') return string();
      if (text.startsWith("true", at)) {
        at += 4;
        return Boolean.TRUE;
      }
      if (text.startsWith("false", at)) {
        at += 5;
        return Boolean.FALSE;
      }
      if (text.startsWith("null", at)) {
        at += 4;
        return null;
      }
      int start = at;
      while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
      if (start == at) throw error("unexpected character " + c);
      BigDecimal number = new BigDecimal(text.substring(start, at));
      try {
        return number.intValueExact();
      } catch (ArithmeticException notInt) {
        try {
          return number.longValueExact();
        } catch (ArithmeticException notLong) {
          return number;
        }
      }
    }

    private void expect(char c) {
      if (at >= text.length() || text.charAt(at) != c) throw error("expected " + c);
      at++;
    }

    private String string() {
      expect('"');
      StringBuilder result = new StringBuilder();
      while (true) {
        if (at >= text.length()) throw error("unterminated string");
        char c = text.charAt(at++);
        if (c == '"') return result.toString();
        if (c < 0x20) throw error("unescaped control character");
        if (c != '\\') {
          result.append(c);
          continue;
        }
        char e = text.charAt(at++);
        switch (e) {
          case '"': result.append('"'); break;
          case '\\': result.append('\\'); break;
          case '/': result.append('/'); break;
          case 'b': result.append('\b'); break;
          case 'f': result.append('\f'); break;
          case 'n': result.append('\n'); break;
          case 'r': result.append('\r'); break;
          case 't': result.append('\t'); break;
          case 'u':
            result.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
            at += 4;
            break;
          default: throw error("invalid escape \\" + e);
        }
      }
    }

    static String write(Object value) {
      StringBuilder out = new StringBuilder();
      write(value, out);
      return out.toString();
    }

    private static void write(Object value, StringBuilder out) {
      if (value == null) {
        out.append("null");
      } else if (value instanceof String) {
        quote((String) value, out);
      } else if (value instanceof Map) {
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
          if (!first) out.append(',');
          first = false;
          quote(String.valueOf(entry.getKey()), out);
          out.append(':');
          write(entry.getValue(), out);
        }
        out.append('}');
      } else if (value instanceof List) {
        out.append('[');
        boolean first = true;
        for (Object item : (List<?>) value) {
          if (!first) out.append(',');
          first = false;
          write(item, out);
        }
        out.append(']');
      } else if (value instanceof BigDecimal) {
        out.append(((BigDecimal) value).toString());
      } else {
        out.append(value.toString());
      }
    }

    private static void quote(String value, StringBuilder out) {
      out.append('"');
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        switch (c) {
          case '"': out.append("\\\""); break;
          case '\\': out.append("\\\\"); break;
          case '\n': out.append("\\n"); break;
          case '\r': out.append("\\r"); break;
          case '\t': out.append("\\t"); break;
          case '\b': out.append("\\b"); break;
          case '\f': out.append("\\f"); break;
          default:
            if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
      }
      out.append('"');
    }
  }
}
