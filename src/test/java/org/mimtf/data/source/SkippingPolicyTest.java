package org.mimtf.data.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.data.BadInputException;

class SkippingPolicyTest {
  private static BadInputException bad(int i) {
    return new BadInputException("/data/train-00001@" + (i * 100), "corrupt TFRecord");
  }

  @Test
  void failModeRethrowsTheSameException() {
    SkippingPolicy p =
        SkippingPolicy.of(SourceConfig.newBuilder().setOnError(SourceConfig.OnError.FAIL).build());
    BadInputException e = bad(1);
    assertSame(e, assertThrows(BadInputException.class, () -> p.onBadInput(e)));
    assertFalse(p.skips());
    assertEquals("FAIL", p.toString());
  }

  @Test
  void defaultConfigFails() {
    assertFalse(SkippingPolicy.of(SourceConfig.getDefaultInstance()).skips());
  }

  @Test
  void skipModeSkipsUpToMaxThenFailsNamingTheFieldAndTheLastInput() {
    SourceConfig cfg =
        SourceConfig.newBuilder().setOnError(SourceConfig.OnError.SKIP).setMaxSkipped(3).build();
    SkippingPolicy p = SkippingPolicy.of(cfg, "eval.train");
    for (int i = 0; i < 3; i++) {
      p.onBadInput(bad(i)); // returns: skip it
    }
    assertEquals(3, p.skipped());
    BadInputException last = bad(3);
    BadInputException e = assertThrows(BadInputException.class, () -> p.onBadInput(last));
    assertSame(last, e.getCause());
    assertEquals(last.origin(), e.origin());
    assertEquals(
        "/data/train-00001@300: too many bad inputs: 4 skipped, more than eval.train.max_skipped"
            + " (3); the last one: /data/train-00001@300: corrupt TFRecord",
        e.getMessage());
  }

  @Test
  void zeroMaxSkippedFailsOnTheFirst() {
    SkippingPolicy p = SkippingPolicy.skipUpTo(0);
    assertThrows(BadInputException.class, () -> p.onBadInput(bad(0)));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SkippingPolicy.skipUpTo(-1));
    assertEquals("data.source.max_skipped (-1) must be >= 0", e.getMessage());
  }

  @Test
  void concurrentWorkersAreCountedExactly() throws Exception {
    // 1000 warnings would drown the test output.
    Logger log = Logger.getLogger(SkippingPolicy.class.getName());
    Level level = log.getLevel();
    log.setLevel(Level.OFF);
    try {
      countConcurrently();
    } finally {
      log.setLevel(level);
    }
  }

  private static void countConcurrently() throws Exception {
    SkippingPolicy p = SkippingPolicy.skipUpTo(1000);
    AtomicInteger failures = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      threads.add(
          new Thread(
              () -> {
                for (int i = 0; i < 300; i++) {
                  try {
                    p.onBadInput(bad(i));
                  } catch (BadInputException e) {
                    failures.incrementAndGet();
                  }
                }
              }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join();
    }
    assertEquals(1200, p.skipped());
    assertEquals(200, failures.get());
    assertTrue(p.toString().startsWith("SKIP (at most 1000"), p.toString());
  }
}
