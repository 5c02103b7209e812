package org.mimtf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.export.TinyModel;
import org.mimtf.util.UserException;
import picocli.CommandLine;

class InspectCommandTest {
  @TempDir Path dir;

  @Test
  void printsTheSignaturesThenOneJsonLine() {
    Path model = TinyModel.export(dir.resolve("m"));
    StringWriter out = new StringWriter();
    CommandLine cl = new CommandLine(new InspectCommand());
    cl.setOut(new PrintWriter(out));
    assertEquals(0, cl.execute(model.toString()));
    String[] lines = out.toString().split("\n");
    assertTrue(out.toString().contains("MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:"));
    assertTrue(out.toString().contains("    inputs['images'] tensor_info:\n        dtype: DT_FLOAT\n"
        + "        shape: (-1, 4, 4, 1)\n"));
    String json = lines[lines.length - 1];
    assertEquals("{\"dir\":\"" + model + "\",\"version\":null,\"meta_graphs\":[{\"tags\":[\"serve\"],"
        + "\"signatures\":{\"serving_default\":{\"method\":\"tensorflow/serving/predict\","
        + "\"inputs\":{\"images\":{\"dtype\":\"DT_FLOAT\",\"shape\":[-1,4,4,1],\"name\":\"x:0\"}},"
        + "\"outputs\":{\"cls\":{\"dtype\":\"DT_FLOAT\",\"shape\":[-1,3],\"name\":\"y:0\"}}}}}],\"variables\":1}", json);
  }

  @Test
  void aMissingDirectoryIsAUserError() {
    AtomicReference<Exception> caught = new AtomicReference<>();
    CommandLine cl = new CommandLine(new InspectCommand());
    cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
      caught.set(ex);
      return 2;
    });
    assertEquals(2, cl.execute(dir.resolve("missing").toString()));
    assertInstanceOf(UserException.class, caught.get());
    assertTrue(Mimtf.isUserError(caught.get()));
    assertTrue(caught.get().getMessage().contains("missing: no such file or directory"), caught.get().getMessage());
  }
}
