package org.mimtf.train.log;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Map;
import org.mimtf.util.Json;

/**
 * Where a run reports: a progress line for people (step, loss, images/s, ETA), one JSON object per
 * logged step in {@code metrics.jsonl} for scripts, and TensorBoard scalars and images.
 */
public final class RunLog implements AutoCloseable {
  private final PrintStream console;
  private final BufferedWriter jsonl;
  private final EventWriter events;

  public RunLog(Path runDir, PrintStream console) {
    this.console = console;
    try {
      Files.createDirectories(runDir);
      this.jsonl = Files.newBufferedWriter(runDir.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + runDir.resolve("metrics.jsonl") + ": " + e.getMessage(), e);
    }
    this.events = new EventWriter(runDir.resolve("events"));
  }

  public EventWriter events() {
    return events;
  }

  public void info(String line) {
    console.println(line);
  }

  /** Appends one record to metrics.jsonl and writes its numeric values as TensorBoard scalars. */
  public void metrics(long step, Map<String, ?> values) {
    Json.Obj o = Json.obj().put("step", step).putAll(values);
    try {
      jsonl.write(o.toString());
      jsonl.newLine();
      jsonl.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Map.Entry<String, ?> e : values.entrySet()) {
      if (e.getValue() instanceof Number n) {
        events.scalar(e.getKey(), step, n.doubleValue());
      }
    }
    events.flush();
  }

  /** The progress line: {@code step 120/500 | loss 3.2140 (a 2.10, b 0.91) | lr 8.1e-04 | 245 img/s | ETA 1m32s}. */
  public void progress(long step, long total, double loss, Map<String, Double> terms, double lr, double imagesPerSec,
      double etaSeconds) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "step %d/%d | loss %.4f", step, total, loss));
    if (terms.size() > 1) {
      sb.append(" (");
      boolean first = true;
      for (Map.Entry<String, Double> e : terms.entrySet()) {
        if (!first) {
          sb.append(", ");
        }
        first = false;
        sb.append(e.getKey()).append(String.format(Locale.ROOT, " %.4f", e.getValue()));
      }
      sb.append(")");
    }
    sb.append(String.format(Locale.ROOT, " | lr %.2e | %.1f img/s | ETA %s", lr, imagesPerSec, duration(etaSeconds)));
    console.println(sb);
  }

  /** 95 → "1m35s", 4000 → "1h06m". */
  public static String duration(double seconds) {
    if (!Double.isFinite(seconds) || seconds < 0) {
      return "?";
    }
    long s = Math.round(seconds);
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
    }
    return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
  }

  @Override
  public void close() {
    try {
      jsonl.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    events.close();
  }
}
