package org.mimtf.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the host CPU can do natively, read from {@code /proc/cpuinfo}'s {@code flags} line. Used where a
 * choice depends on the hardware rather than on the recipe: bf16 pays only where the CPU has bf16
 * dot products ({@code avx512_bf16}, Intel Cooper Lake / Sapphire Rapids and AMD Zen 4+, or AMX's
 * {@code amx_bf16}); elsewhere oneDNN emulates it and it is slower than fp32.
 */
public final class CpuFeatures {
  private static final Path CPUINFO = Path.of("/proc/cpuinfo");
  private static volatile Set<String> cached;

  private CpuFeatures() {}

  /** The first {@code flags} line's words, empty where there is no such file (not Linux) or line. */
  public static Set<String> flags() {
    Set<String> f = cached;
    if (f == null) {
      String text = "";
      try {
        text = Files.exists(CPUINFO) ? Files.readString(CPUINFO) : "";
      } catch (IOException | RuntimeException e) {
        // unreadable: treated as a CPU without the features (fp32 is always correct)
      }
      f = parseFlags(text);
      cached = f;
    }
    return f;
  }

  /** Whether the CPU multiplies bf16 natively (see the class comment). */
  public static boolean nativeBf16() {
    return hasNativeBf16(flags());
  }

  static boolean hasNativeBf16(Set<String> flags) {
    return flags.contains("avx512_bf16") || flags.contains("amx_bf16");
  }

  /** The words after {@code flags :} on the first such line of a {@code /proc/cpuinfo} text. */
  static Set<String> parseFlags(String cpuinfo) {
    for (String line : cpuinfo.split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equals("flags")) {
        return new TreeSet<>(Arrays.asList(line.substring(colon + 1).trim().split("\\s+")));
      }
    }
    return new TreeSet<>();
  }
}
