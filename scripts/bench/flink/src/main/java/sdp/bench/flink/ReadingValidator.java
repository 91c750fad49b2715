package sdp.bench.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A Java port of the reading contract (apps/contracts/telemetry.ts, versions 1 and 2) and the
 * processor's guards (apps/processor/guards.ts). Known differences, all on hostile input only:
 * Jackson reads `-0` as 0 and keeps the last of duplicate keys (as JSON.parse does), and the
 * detail texts are shorter than zod's.
 */
public final class ReadingValidator {
  static final long MIN_EVENT_TS = 946_684_800_000L; // 2000-01-01
  static final long MAX_EVENT_TS = 4_102_444_800_000L; // 2100-01-01
  static final int MAX_TAGS = 64;
  static final int MAX_TAG_KEY_CHARS = 64;
  static final int MAX_TAG_VALUE_CHARS = 256;
  private static final Pattern DEVICE_ID = Pattern.compile("^[A-Za-z0-9._:-]+$");
  private static final Pattern METRIC = Pattern.compile("^[a-z][a-z0-9_.]*$");
  private static final Set<String> V1_FIELDS = Set.of("schemaVersion", "deviceId", "ts", "metric", "value", "tags");
  private static final Set<String> V2_FIELDS = Set.of("schemaVersion", "deviceId", "ts", "metric", "value", "tags", "unit");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final long maxClockSkewMs;

  public ReadingValidator(long maxClockSkewMs) {
    this.maxClockSkewMs = maxClockSkewMs;
  }

  /** Thrown with the processor's DLQ reason and a detail that names the field. */
  public static final class Invalid extends Exception {
    public final String reason;
    public final String errorClass;

    Invalid(String reason, String detail, String errorClass) {
      super(detail, null, false, false);
      this.reason = reason;
      this.errorClass = errorClass;
    }
  }

  private static Invalid schema(String detail) {
    return new Invalid("schema_violation", detail, "ZodError");
  }

  public Records.Reading validate(Records.Raw raw, long now) throws Invalid {
    if (raw.value == null || raw.value.length == 0) throw new Invalid("empty_value", "record has no value (tombstone or zero bytes)", "EmptyValueError");
    if (!isUtf8(raw.value)) throw new Invalid("invalid_utf8", "(record): the record's " + raw.value.length + " bytes are not valid UTF-8", "InvalidUtf8Error");
    JsonNode root;
    try {
      root = JSON.readTree(raw.value);
    } catch (java.io.IOException e) {
      throw new Invalid("invalid_json", "invalid JSON: " + e.getMessage(), "SyntaxError");
    }
    if (root == null || !root.isObject()) throw schema("(root): expected an object");
    JsonNode version = root.get("schemaVersion");
    if (version == null || !version.isNumber() || (version.doubleValue() != 1 && version.doubleValue() != 2))
      throw new Invalid("unknown_version", "schemaVersion: expected 1 or 2", "UnknownVersionError");
    boolean v2 = version.doubleValue() == 2;
    Set<String> allowed = v2 ? V2_FIELDS : V1_FIELDS;
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) throw schema("(root): unrecognized key \"" + f + "\" in v" + (v2 ? 2 : 1));
    }
    Records.Reading r = new Records.Reading();
    r.deviceId = text(root, "deviceId", 1, 128);
    if (!DEVICE_ID.matcher(r.deviceId).matches()) throw schema("deviceId: must contain only letters, digits, \".\", \"_\", \":\" or \"-\"");
    JsonNode ts = root.get("ts");
    if (ts == null || !ts.isNumber()) throw schema("ts: expected a number");
    double tsValue = ts.doubleValue();
    if (tsValue != Math.rint(tsValue) || tsValue < MIN_EVENT_TS || tsValue > MAX_EVENT_TS) throw schema("ts: expected a whole number of epoch ms in 2000..2100");
    r.ts = (long) tsValue;
    r.metric = text(root, "metric", 1, 64);
    if (!METRIC.matcher(r.metric).matches()) throw schema("metric: must be lower_snake_case (letters, digits, \"_\", \".\")");
    JsonNode value = root.get("value");
    if (value == null || !value.isNumber() || !Double.isFinite(value.doubleValue())) throw schema("value: expected a finite number");
    r.value = value.doubleValue();
    if (root.has("tags")) r.tags = tags(root.get("tags"));
    if (v2 && root.has("unit")) r.unit = text(root, "unit", 1, 16);
    String key = raw.key == null ? null : new String(raw.key, StandardCharsets.UTF_8);
    if (!r.deviceId.equals(key)) throw new Invalid("key_mismatch", "deviceId: the record's Kafka key is not its deviceId (\"" + r.deviceId + "\")", "KeyMismatchError");
    long ahead = r.ts - now;
    if (ahead > maxClockSkewMs) throw new Invalid("clock_skew", "ts: " + ahead + " ms ahead of the processor's clock; at most " + maxClockSkewMs + " ms is allowed", "ClockSkewError");
    return r;
  }

  private static String text(JsonNode root, String field, int min, int max) throws Invalid {
    JsonNode n = root.get(field);
    if (n == null || !n.isTextual()) throw schema(field + ": expected a string");
    String s = n.textValue();
    if (s.length() < min || s.length() > max) throw schema(field + ": expected " + min + ".." + max + " characters");
    return s;
  }

  private static Map<String, String> tags(JsonNode n) throws Invalid {
    if (!n.isObject()) throw schema("tags: expected an object");
    if (n.size() > MAX_TAGS) throw schema("tags: at most " + MAX_TAGS + " tags");
    Map<String, String> tags = new HashMap<>(n.size() * 2);
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String k = e.getKey();
      if (k.isEmpty() || k.length() > MAX_TAG_KEY_CHARS || k.equals("__proto__") || k.equals("hasOwnProperty") || !wellFormed(k))
        throw schema("tags." + k + ": a tag key has 1.." + MAX_TAG_KEY_CHARS + " well-formed characters and is not \"__proto__\" nor \"hasOwnProperty\"");
      JsonNode v = e.getValue();
      if (!v.isTextual() || v.textValue().length() > MAX_TAG_VALUE_CHARS || !wellFormed(v.textValue()))
        throw schema("tags." + k + ": expected a well-formed string of at most " + MAX_TAG_VALUE_CHARS + " characters");
      tags.put(k, v.textValue());
    }
    return tags;
  }

  /** No lone surrogate (the contract's WELL_FORMED pattern). */
  static boolean wellFormed(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return false;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  static boolean isUtf8(byte[] bytes) {
    for (byte b : bytes) if (b < 0) return decodes(bytes);
    return true; // ASCII, the common case, without a decoder
  }

  private static boolean decodes(byte[] bytes) {
    try {
      StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }
}
