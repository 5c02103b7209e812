package org.mimtf.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.finetune.EncoderLoader;
import org.mimtf.util.UserException;

class FinetuneBenchTest {
  @TempDir Path dir;

  @Test
  void encoderFormsAreRecognisedAndOthersAreNot() throws Exception {
    Path saved = Files.createDirectories(dir.resolve("export/1"));
    Files.write(saved.resolve("saved_model.pb"), new byte[] {0});
    Path run = Files.createDirectories(dir.resolve("run/checkpoints"));
    Files.write(dir.resolve("ckpt-100.index"), new byte[] {0});
    assertTrue(EncoderLoader.exists(saved));
    assertTrue(EncoderLoader.exists(run.getParent()));
    assertTrue(EncoderLoader.exists(dir.resolve("ckpt-100")));
    // a folder of numbered versions is accepted, as finetune.encoder accepts it (the newest is loaded)
    assertTrue(EncoderLoader.exists(dir.resolve("export")));
    assertFalse(EncoderLoader.exists(run));
    assertFalse(EncoderLoader.exists(dir.resolve("missing")));
  }

  @Test
  void aGivenEncoderThatIsNoneIsRefusedByNameWithoutRunningTheQuickstart() {
    Path missing = dir.resolve("no-such-encoder");
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    UserException e = assertThrows(UserException.class, () -> FinetuneBench.run("ccvit", Path.of("graphs"), dir,
        missing, 10, List.of(), new PrintStream(buf, true)));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("saved_model.pb"), e.getMessage());
    assertFalse(buf.toString().contains("quickstart"), buf.toString());
  }
}
