package org.mimtf.util;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes the one-line JSON objects that every mimtf entry point prints last and that metrics.jsonl
 * holds. Values may be numbers, booleans, strings, null, maps and collections; non-finite doubles
 * become null (JSON has no NaN).
 */
public final class Json {
  private Json() {}

  /**
   * The number stored under {@code key} in a one-line object this class wrote (a metrics.jsonl line),
   * or null where the key is absent or its value is not a number. A scan, not a parser: enough for
   * the flat lines mimtf writes, which never nest a key of the same name.
   */
  public static Double number(String line, String key) {
    String k = "\"" + key + "\":";
    int i = line.indexOf(k);
    if (i < 0) {
      return null;
    }
    int j = i + k.length();
    int end = j;
    while (end < line.length() && "0123456789.eE-+".indexOf(line.charAt(end)) >= 0) {
      end++;
    }
    return end == j ? null : Double.parseDouble(line.substring(j, end));
  }

  /** A fluent ordered object. */
  public static Obj obj() {
    return new Obj();
  }

  /** An insertion-ordered JSON object under construction. */
  public static final class Obj {
    private final Map<String, Object> map = new LinkedHashMap<>();

    public Obj put(String key, Object value) {
      map.put(key, value);
      return this;
    }

    public Obj putAll(Map<String, ?> values) {
      map.putAll(values);
      return this;
    }

    public Map<String, Object> asMap() {
      return map;
    }

    @Override
    public String toString() {
      return write(map);
    }
  }

  public static String write(Object value) {
    StringBuilder sb = new StringBuilder();
    append(sb, value);
    return sb.toString();
  }

  private static void append(StringBuilder sb, Object v) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof Obj o) {
      append(sb, o.map);
    } else if (v instanceof Map<?, ?> m) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        string(sb, String.valueOf(e.getKey()));
        sb.append(':');
        append(sb, e.getValue());
      }
      sb.append('}');
    } else if (v instanceof Collection<?> c) {
      sb.append('[');
      boolean first = true;
      for (Object o : c) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        append(sb, o);
      }
      sb.append(']');
    } else if (v instanceof double[] a) {
      sb.append('[');
      for (int i = 0; i < a.length; i++) {
        if (i > 0) {
          sb.append(',');
        }
        append(sb, a[i]);
      }
      sb.append(']');
    } else if (v instanceof Double d) {
      sb.append(Double.isFinite(d) ? formatDouble(d) : "null");
    } else if (v instanceof Float f) {
      sb.append(Float.isFinite(f) ? formatDouble(f.doubleValue()) : "null");
    } else if (v instanceof Number || v instanceof Boolean) {
      sb.append(v);
    } else {
      string(sb, v.toString());
    }
  }

  private static String formatDouble(double d) {
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return Long.toString((long) d);
    }
    String s = Double.toString(d);
    return s.replace("E", "e");
  }

  private static void string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
