package org.mimtf.train.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.data.source.TfRecordReader;
import org.tensorflow.proto.Event;

class EventWriterTest {
  @TempDir Path dir;

  @Test
  void writesTensorBoardEventsThatReadBackAsTfRecordsOfEvents() throws Exception {
    Path file;
    try (EventWriter w = new EventWriter(dir)) {
      w.scalar("loss/total", 7, 1.25);
      w.image("images/input", 7, new byte[] {(byte) 0x89, 'P', 'N', 'G'}, 2, 3, 3);
      file = w.file();
    }
    assertTrue(file.getFileName().toString().startsWith("events.out.tfevents."));
    try (TfRecordReader r = TfRecordReader.open(file)) {
      assertEquals(3, r.size());
      Event v = Event.parseFrom(r.read(0));
      assertEquals("brain.Event:2", v.getFileVersion(), "the first record announces the format");
      Event s = Event.parseFrom(r.read(1));
      assertEquals(7, s.getStep());
      assertEquals("loss/total", s.getSummary().getValue(0).getTag());
      assertEquals(1.25f, s.getSummary().getValue(0).getSimpleValue());
      Event i = Event.parseFrom(r.read(2));
      assertEquals(3, i.getSummary().getValue(0).getImage().getWidth());
      assertEquals(4, i.getSummary().getValue(0).getImage().getEncodedImageString().size());
    }
  }

  @Test
  void runLogAppendsOneJsonObjectPerLoggedStep() throws Exception {
    try (RunLog log = new RunLog(dir, new java.io.PrintStream(new java.io.ByteArrayOutputStream()))) {
      log.metrics(1, java.util.Map.of("loss", 2.5));
      log.metrics(2, java.util.Map.of("loss", Double.NaN));
    }
    var lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertEquals("{\"step\":1,\"loss\":2.5}", lines.get(0));
    assertEquals("{\"step\":2,\"loss\":null}", lines.get(1), "NaN is not JSON: null");
  }

  @Test
  void etaFormatting() {
    assertEquals("45s", RunLog.duration(45));
    assertEquals("1m35s", RunLog.duration(95));
    assertEquals("1h06m", RunLog.duration(3960));
    assertEquals("?", RunLog.duration(Double.NaN));
  }
}
