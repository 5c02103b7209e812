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
import org.mimtf.util.UserException;

class FinetuneBenchTest {
  @TempDir Path dir;

  @Test
  void encoderFormsAreRecognisedAndOthersAreNot() throws Exception {
    Path saved = Files.createDirectories(dir.resolve("export/1"));
    Files.write(saved.resolve("saved_model.pb"), new byte[] {0});
    Path run = Files.createDirectories(dir.resolve("run/checkpoints"));
    Files.write(dir.resolve("ckpt-100.index"), new byte[] {0});
    assertTrue(FinetuneBench.isEncoder(saved));
    assertTrue(FinetuneBench.isEncoder(run.getParent()));
    assertTrue(FinetuneBench.isEncoder(dir.resolve("ckpt-100")));
    assertFalse(FinetuneBench.isEncoder(dir.resolve("export")));
    assertFalse(FinetuneBench.isEncoder(dir.resolve("missing")));
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
