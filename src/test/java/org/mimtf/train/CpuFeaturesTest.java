package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class CpuFeaturesTest {
  /** Two processors of a /proc/cpuinfo as Linux writes it (abridged); only the first flags line is read. */
  private static final String ZEN = String.join("\n",
      "processor\t: 0", "vendor_id\t: AuthenticAMD", "model name\t: AMD EPYC 9B45",
      "flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 vaes", "bugs\t\t: sysret_ss_attrs", "",
      "processor\t: 1", "flags\t\t: fpu sse2", "");

  @Test
  void readsTheFirstFlagsLineOnly() {
    Set<String> f = CpuFeatures.parseFlags(ZEN);
    assertEquals(Set.of("fpu", "sse2", "avx2", "avx512f", "avx512_vnni", "avx512_bf16", "vaes"), f);
    assertTrue(CpuFeatures.hasNativeBf16(f));
  }

  @Test
  void bf16NeedsAvx512Bf16OrAmx() {
    assertFalse(CpuFeatures.hasNativeBf16(CpuFeatures.parseFlags("flags : fpu avx2 avx512f avx512_vnni\n")));
    assertTrue(CpuFeatures.hasNativeBf16(CpuFeatures.parseFlags("flags : fpu amx_tile amx_bf16\n")));
    // not Linux, or no flags line: no features, so fp32
    assertEquals(Set.of(), CpuFeatures.parseFlags(""));
    assertFalse(CpuFeatures.hasNativeBf16(CpuFeatures.parseFlags("model name : Apple M2\n")));
  }

  @Test
  void thisHostsAnswerMatchesItsCpuinfo() throws Exception {
    java.nio.file.Path p = java.nio.file.Path.of("/proc/cpuinfo");
    boolean expected = java.nio.file.Files.exists(p) && java.nio.file.Files.readString(p).lines()
        .filter(l -> l.startsWith("flags")).findFirst()
        .map(l -> l.contains(" avx512_bf16") || l.contains(" amx_bf16")).orElse(false);
    assertEquals(expected, CpuFeatures.nativeBf16());
  }
}
