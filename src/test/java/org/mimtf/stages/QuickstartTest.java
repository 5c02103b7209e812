package org.mimtf.stages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.util.UserException;

/** The quickstart chain on a shrunk MOCA recipe: pre-training, export, and both probes. */
class QuickstartTest {
  @TempDir Path dir;

  @Test
  void theChainPretrainsExportsAndScoresTheExportAgainstRandomInit() throws Exception {
    Path graphs = Files.createDirectories(dir.resolve("graphs"));
    Recipe tiny = TinyRecipes.moca(dir, 3, "eval.train.limit=300", "eval.test.limit=100");
    Files.writeString(graphs.resolve("moca_fmnist_small.pbtxt"), TextFormat.printer().printToString(tiny));
    Recipe r = Quickstart.recipe("moca", graphs, List.of("training.run_dir=" + dir.resolve("qs-run")));
    assertEquals(dir.resolve("qs-run").toString(), r.getTraining().getRunDir());

    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Quickstart.Result q = Quickstart.run("moca", r, graphs, new PrintStream(buf, true));

    assertEquals(3, q.steps());
    assertTrue(Files.exists(q.export().resolve("saved_model.pb")), q.export().toString());
    assertTrue(q.export().startsWith(dir.resolve("export")), q.export().toString());
    for (var s : List.of(q.pretrained(), q.randomInit())) {
      assertEquals(300, s.trainImages());
      assertEquals(100, s.testImages());
      assertEquals(32, s.dim());
      assertTrue(s.knnTop1() > 0 && s.knnTop1() <= 1, "k-NN " + s.knnTop1());
      assertTrue(s.linearTop1() > 0 && s.linearTop1() <= 1, "linear " + s.linearTop1());
    }
    Map<String, Object> j = q.json().asMap();
    assertEquals("moca", j.get("method"));
    assertEquals(q.pretrained().knnTop1(), (Double) j.get("knn_top1"));
    assertEquals(q.randomInit().linearTop1(), (Double) j.get("linear_top1_random_init"));
    String log = buf.toString();
    assertTrue(log.contains("== 2. pre-training") && log.contains("== 5. evaluation"), log);
  }

  @Test
  void autoPrecisionIsBf16OnlyForCpuRecipesOnCpusWithNativeBf16() throws Exception {
    Recipe cpu = TinyRecipes.moca(dir, 3);
    assertEquals("cpu", cpu.getTraining().getDevices());
    assertEquals(TrainingConfig.Precision.BF16, Quickstart.resolve(Quickstart.Precision.AUTO, cpu, true));
    assertEquals(TrainingConfig.Precision.FP32, Quickstart.resolve(Quickstart.Precision.AUTO, cpu, false));
    Recipe gpu = cpu.toBuilder().setTraining(cpu.getTraining().toBuilder().setDevices("auto")).build();
    assertEquals(TrainingConfig.Precision.FP32, Quickstart.resolve(Quickstart.Precision.AUTO, gpu, true));
    // an explicit choice is taken as it is, whatever the CPU
    assertEquals(TrainingConfig.Precision.BF16, Quickstart.resolve(Quickstart.Precision.BF16, cpu, false));
    assertEquals(TrainingConfig.Precision.FP32, Quickstart.resolve(Quickstart.Precision.FP32, cpu, true));
  }

  @Test
  void thePrecisionReachesEveryTrainingStageAndAnExplicitSetWins() throws Exception {
    Path graphs = Files.createDirectories(dir.resolve("graphs"));
    Files.writeString(graphs.resolve("moca_fmnist_small.pbtxt"),
        TextFormat.printer().printToString(TinyRecipes.moca(dir, 3)));
    Recipe bf16 = Quickstart.recipe("moca", graphs, Quickstart.Precision.BF16, List.of());
    assertEquals(TrainingConfig.Precision.BF16, bf16.getTraining().getPrecision());
    Recipe fp32 = Quickstart.recipe("moca", graphs, Quickstart.Precision.BF16, List.of("training.precision=FP32"));
    assertEquals(TrainingConfig.Precision.FP32, fp32.getTraining().getPrecision());
    // BEiT v2's VQ-KD stage has a training block of its own
    Recipe beit = Quickstart.recipe("beitv2", TinyRecipes.repoRoot().resolve("graphs"), Quickstart.Precision.BF16,
        List.of());
    assertEquals(TrainingConfig.Precision.BF16, beit.getTraining().getPrecision());
    assertEquals(TrainingConfig.Precision.BF16, beit.getBeitv2().getTokenizer().getTraining().getPrecision());
    assertEquals(List.of("training.precision=FP32"),
        Quickstart.precisionOverrides(bf16, TrainingConfig.Precision.FP32));
  }

  @Test
  void anUnknownMethodNamesTheMissingRecipe() {
    UserException e = assertThrows(UserException.class, () -> Quickstart.recipe("mae", dir, List.of()));
    assertTrue(e.getMessage().contains(dir.resolve("mae_fmnist_small.pbtxt").toString()), e.getMessage());
  }
}
