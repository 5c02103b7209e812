package org.mimtf.config;

import com.google.common.base.Splitter;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Command-line overrides such as {@code --set training.batch_size=64}, applied to a recipe builder.
 *
 * <p>The path is a dotted list of field names as written in the pbtxt; a repeated message field takes
 * an index ({@code data.view[1].name=strong}). The value is parsed by protobuf's own text-format parser
 * in the context of the last field, so it accepts exactly what a recipe file would: numbers, enum
 * names, quoted or bare strings, {@code [a, b]} lists for repeated scalars and {@code {...}} blocks for
 * messages. A set value replaces the old one, lists included.
 */
public final class RecipeOverrides {
  private static final Pattern SEGMENT = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)(?:\\[(\\d+)\\])?");

  private RecipeOverrides() {}

  /** Applies each {@code path=value} in order. */
  public static void apply(Message.Builder root, List<String> overrides) {
    for (String o : overrides) {
      applyOne(root, o);
    }
  }

  private static void applyOne(Message.Builder root, String override) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw bad(override, "expected FIELD.PATH=VALUE, e.g. training.batch_size=64");
    }
    String path = override.substring(0, eq).trim();
    String value = override.substring(eq + 1).trim();
    List<String> segments = Splitter.on('.').splitToList(path);
    Message.Builder b = root;
    for (int i = 0; i < segments.size(); i++) {
      Matcher m = SEGMENT.matcher(segments.get(i));
      if (!m.matches()) {
        throw bad(override, "'" + segments.get(i) + "' is not a field name");
      }
      String name = m.group(1);
      Descriptor type = b.getDescriptorForType();
      FieldDescriptor f = type.findFieldByName(name);
      if (f == null) {
        throw bad(override, "unknown field '" + name + "' in " + type.getFullName() + " (fields: "
            + fieldNames(type) + ")");
      }
      boolean last = i == segments.size() - 1;
      if (last) {
        if (m.group(2) != null) {
          throw bad(override, "an index on the last field is not supported; set the whole list as [a, b]");
        }
        setField(b, f, value, override);
        return;
      }
      if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        throw bad(override, "'" + name + "' is a " + f.getType().name().toLowerCase() + ", not a message");
      }
      if (f.isRepeated()) {
        if (m.group(2) == null) {
          throw bad(override, "'" + name + "' is repeated: give an index, e.g. " + name + "[0]");
        }
        int idx = Integer.parseInt(m.group(2));
        int count = b.getRepeatedFieldCount(f);
        if (idx > count) {
          throw bad(override, name + "[" + idx + "] is out of range (" + count + " entries; "
              + "use index " + count + " to append)");
        }
        if (idx == count) {
          b.addRepeatedField(f, b.newBuilderForField(f).build());
        }
        b = b.getRepeatedFieldBuilder(f, idx);
      } else {
        if (m.group(2) != null) {
          throw bad(override, "'" + name + "' is not repeated, it takes no index");
        }
        b = b.getFieldBuilder(f);
      }
    }
  }

  private static void setField(Message.Builder b, FieldDescriptor f, String value, String override) {
    // Parse "name: value" (or "name { ... }") into a scratch builder of the same type, so protobuf does
    // the value parsing and reports its own precise error.
    String text;
    if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
      String v = value.startsWith("{") ? value : "{" + value + "}";
      text = f.getName() + " " + v;
    } else if (f.getJavaType() == FieldDescriptor.JavaType.STRING && !value.startsWith("\"")
        && !value.startsWith("'") && !value.startsWith("[")) {
      text = f.getName() + ": \"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    } else {
      text = f.getName() + ": " + value;
    }
    Message.Builder scratch = b.getDefaultInstanceForType().newBuilderForType();
    try {
      TextFormat.merge(text, scratch);
    } catch (TextFormat.ParseException e) {
      throw bad(override, "bad value for " + f.getName() + " (" + typeName(f) + "): "
          + stripPosition(e.getMessage()));
    }
    b.clearField(f);
    if (f.isRepeated()) {
      int n = scratch.getRepeatedFieldCount(f);
      for (int i = 0; i < n; i++) {
        b.addRepeatedField(f, scratch.getRepeatedField(f, i));
      }
    } else {
      b.setField(f, scratch.getField(f));
    }
  }

  private static String typeName(FieldDescriptor f) {
    String t = f.getJavaType() == FieldDescriptor.JavaType.ENUM
        ? "enum " + f.getEnumType().getName() + ": " + f.getEnumType().getValues().stream()
            .map(v -> v.getName()).reduce((a, c) -> a + "|" + c).orElse("")
        : f.getType().name().toLowerCase();
    return f.isRepeated() ? "repeated " + t : t;
  }

  private static String fieldNames(Descriptor type) {
    return type.getFields().stream().map(FieldDescriptor::getName).reduce((a, c) -> a + ", " + c).orElse("");
  }

  static String stripPosition(String msg) {
    return msg == null ? "" : msg.replaceFirst("^\\d+:\\d+: ", "");
  }

  private static RecipeException bad(String override, String problem) {
    return new RecipeException("--set " + override, problem);
  }
}
