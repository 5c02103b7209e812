package org.mimtf.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.export.EncoderExporter;
import org.mimtf.api.EncoderSpec;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.mimtf.nn.VitConfig;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.train.StepGraph;
import org.mimtf.util.UserException;
import org.mimtf.weights.PositionResize;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** Fine-tuning on the shared trainer: layer decay, loading, export, resume (tiny ViT, few steps). */
class FinetuneTest {
  @TempDir Path dir;

  private static PrintStream quiet() {
    return new PrintStream(new ByteArrayOutputStream());
  }

  /** The small CCViT recipe shrunk (width 32, 3 blocks) with a tiny fine-tuning section. */
  static Recipe tiny(Path dir, int steps, String... extra) throws Exception {
    List<String> o = new ArrayList<>(List.of("finetune.training.steps=" + steps, "finetune.training.batch_size=16",
        "finetune.training.log_every_steps=1", "finetune.training.checkpoint_every_steps=100",
        "finetune.schedule.warmup_steps=2", "finetune.eval_every_steps=2", "finetune.eval_batch_size=32",
        "finetune.test.limit=64", "finetune.data.source.limit=512",
        "finetune.training.run_dir=" + dir.resolve("ft"), "finetune.export.dir=" + dir.resolve("ft_export")));
    o.addAll(List.of(extra));
    return TinyRecipes.ccvit(dir, 1, o.toArray(new String[0]));
  }

  private static Map<String, float[]> values(Session s, List<Param> ps) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Param p : ps) {
      try (Result r = s.runner().fetch(p.name()).run()) {
        TFloat32 t = (TFloat32) r.get(0);
        float[] a = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(a, false, false));
        out.put(p.name(), a);
      }
    }
    return out;
  }

  @Test
  void layerDecayScalesEachVariableByDecayToTheDepthPlusOneMinusItsLayerId() throws Exception {
    // 3 blocks, decay 0.5: embeddings 0.5^4, block k 0.5^(3-k), fc_norm/head 1 (BEiT get_num_layer_for_vit).
    Recipe r = tiny(dir, 1, "finetune.optimizer.layer_decay=0.5", "finetune.optimizer.weight_decay=0",
        "finetune.encoder=random_init", "finetune.drop_path_rate=0",
        // tiny ε: the first step then moves every element with a gradient by lr·scale (CLS gets small gradients)
        "finetune.optimizer.epsilon=1e-12");
    Recipe train = FinetuneRecipe.trainingRecipe(r);
    ClassifierTask task = Finetuner.task(r);
    Map<String, Double> expected = new LinkedHashMap<>();
    expected.put("encoder/patch_embed/proj/kernel", 0.0625);
    expected.put("encoder/patch_embed/proj/bias", 0.0625);
    expected.put("encoder/cls_token", 0.0625);
    expected.put("encoder/blocks/0/attn/qkv/kernel", 0.125);
    expected.put("encoder/blocks/0/attn/relative_position_bias_table", 0.125);
    expected.put("encoder/blocks/1/mlp/fc1/kernel", 0.25);
    expected.put("encoder/blocks/2/gamma_1", 0.5);
    expected.put("encoder/blocks/2/attn/proj/bias", 0.5);
    expected.put("fc_norm/gamma", 1.0);
    expected.put("head/kernel", 1.0);
    expected.put("head/bias", 1.0);
    expected.put("encoder/norm/gamma", 0.0); // unused with mean pooling: frozen
    double lr = 1e-2;
    try (Pipeline p = PipelineFactory.training(train, List.of(), 0);
        StepGraph sg = new StepGraph(task, p.fields(), train.getOptimizer(), Compute.fp32(), 1, 0);
        Session s = new Session(sg.graph())) {
      s.initialize();
      Batch b = p.next();
      List<Param> ps = sg.params().all().stream().filter(x -> expected.containsKey(x.name())).toList();
      assertEquals(expected.size(), ps.size());
      Map<String, float[]> before = values(s, ps);
      sg.step(s, b, 0, lr, 0, Map.of(), 0, true, null);
      Map<String, float[]> after = values(s, ps);
      for (var e : expected.entrySet()) {
        float[] x0 = before.get(e.getKey());
        float[] x1 = after.get(e.getKey());
        double max = 0;
        for (int i = 0; i < x0.length; i++) {
          max = Math.max(max, Math.abs(x1[i] - x0[i]));
        }
        // the first AdamW step moves each element by lr·scale·g/(|g|+ε) ≈ lr·scale
        assertEquals(e.getValue(), max / lr, 1e-3 * e.getValue() + 1e-6, e.getKey());
      }
    }
  }

  @Test
  void labelSmoothedCrossEntropyMatchesAHandComputation() throws Exception {
    float[] logits = {1f, 2f, 0.5f, 0f, 0f, 3f};
    int[] labels = {1, 2};
    float eps = 0.1f;
    double expected = 0;
    for (int i = 0; i < 2; i++) {
      double lse = 0;
      for (int k = 0; k < 3; k++) {
        lse += Math.exp(logits[i * 3 + k]);
      }
      lse = Math.log(lse);
      for (int k = 0; k < 3; k++) {
        double t = k == labels[i] ? 1 - eps + eps / 3 : eps / 3;
        expected += -t * (logits[i * 3 + k] - lse) / 2;
      }
    }
    try (org.tensorflow.Graph g = new org.tensorflow.Graph(); Session s = new Session(g)) {
      var tf = org.tensorflow.op.Ops.create(g);
      var l = tf.constant(Shape.of(2, 3), DataBuffers.of(logits));
      var t = ClassifierTask.smoothedOneHot(tf, tf.constant(labels), 3, eps);
      try (Result r = s.runner().fetch(org.mimtf.api.Losses.softCrossEntropy(tf, l, t)).run()) {
        assertEquals(expected, ((TFloat32) r.get(0)).getFloat(), 1e-6);
      }
    }
  }

  /** A random-init encoder export of the recipe's model, as `mimtf export` writes it. */
  private static Path exportEncoder(Recipe r, Path to) {
    VitConfig vit = VitConfig.from(r.getModel());
    EncoderExporter.export(new EncoderSpec(vit, "encoder"), null, to, Map.of());
    return to;
  }

  @Test
  void weightsLoadedFromAnExportEqualTheExportsVariables() throws Exception {
    Recipe base = tiny(dir, 1);
    Path sm = exportEncoder(FinetuneRecipe.trainingRecipe(base).toBuilder().setModel(base.getModel()).build(),
        dir.resolve("enc/1"));
    Recipe r = tiny(dir, 1, "finetune.encoder=" + sm, "model.init_seed=77");
    Recipe train = FinetuneRecipe.trainingRecipe(r);
    ClassifierTask task = Finetuner.task(r);
    EncoderLoader.Source src = EncoderLoader.locate(r);
    try (Pipeline p = PipelineFactory.training(train, List.of(), 0);
        StepGraph sg = new StepGraph(task, p.fields(), train.getOptimizer(), Compute.fp32(), 1, 0);
        Session s = new Session(sg.graph())) {
      s.initialize();
      EncoderLoader.Report rep = EncoderLoader.load(s, task.loadable(), src, true);
      Map<String, float[]> loaded = values(s, sg.params().under("encoder/"));
      List<String> names = new ArrayList<>();
      for (String n : loaded.keySet()) {
        names.add(n.contains("/attn/relative_position_bias_table") ? "encoder/rel_pos_bias/relative_position_bias_table"
            : n);
      }
      Map<String, float[]> exported = EncoderLoader.read(sm.resolve("variables/variables"),
          names.stream().distinct().toList());
      int i = 0;
      for (var e : loaded.entrySet()) {
        float[] want = exported.get(names.get(i++));
        assertTrue(java.util.Arrays.equals(want, e.getValue()), e.getKey() + " equals the export's tensor");
      }
      assertEquals(loaded.size(), rep.loaded().size());
      assertEquals(List.of("fc_norm/gamma", "fc_norm/beta", "head/kernel", "head/bias"), rep.initialised());
      assertTrue(rep.adapted().stream().anyMatch(a -> a.startsWith("encoder/blocks/2/attn/relative_position_bias_table"
          + " copied from encoder/rel_pos_bias/relative_position_bias_table")), rep.adapted().toString());
    }
  }

  @Test
  void anEncoderOfAnotherWidthIsRefusedNamingTheVariableAndBothShapes() throws Exception {
    Recipe other = tiny(dir, 1, "model.width=48");
    Path sm = exportEncoder(other, dir.resolve("wide/1"));
    Recipe r = tiny(dir, 1, "finetune.encoder=" + sm);
    Recipe train = FinetuneRecipe.trainingRecipe(r);
    ClassifierTask task = Finetuner.task(r);
    try (Pipeline p = PipelineFactory.training(train, List.of(), 0);
        StepGraph sg = new StepGraph(task, p.fields(), train.getOptimizer(), Compute.fp32(), 1, 0);
        Session s = new Session(sg.graph())) {
      s.initialize();
      UserException e = assertThrows(UserException.class,
          () -> EncoderLoader.load(s, task.loadable(), EncoderLoader.locate(r), true));
      assertTrue(e.getMessage().contains("variable encoder/patch_embed/proj/kernel has shape (16, 48)"), e.getMessage());
      assertTrue(e.getMessage().contains("has shape (16, 32) in the fine-tuning model"), e.getMessage());
    }
  }

  @Test
  void aLearnedPositionTableIsResizedBicubicallyKeepingTheClsRow() {
    // a table linear in the column index stays linear in the interior after resizing 2x2 -> 4x4
    float[] t = {9f, 0f, 1f, 0f, 1f};
    float[] out = PositionResize.resizeBeit(t, 5, 17, 1);
    assertEquals(9f, out[0]);
    // PyTorch bicubic (align_corners=False, A=-0.75) of [0, 1] to 4: [-0.10546875, 0.2265625, 0.7734375, 1.10546875]
    float[] row = {out[1], out[2], out[3], out[4]};
    float[] torch = {-0.10546875f, 0.2265625f, 0.7734375f, 1.10546875f};
    for (int i = 0; i < 4; i++) {
      assertEquals(torch[i], row[i], 1e-6, "column " + i);
    }
  }

  @Test
  void classifierSignaturesInAFreshJvmGiveTheSameScoresAndTheTrainingTimeLogits() throws Exception {
    Recipe r = tiny(dir, 2, "finetune.encoder=random_init", "finetune.eval_every_steps=0");
    Finetuner.Summary sum = new Finetuner(r, quiet()).run();
    Path sm = sum.export();
    int b = 3;
    int size = r.getModel().getImageSize();
    Map<String, List<String>> out = ClassifierProbe.runInFreshJvm(sm, b, size, 5);
    List<String> predict = out.get("predict/probabilities");
    assertEquals(b * 10, predict.size());
    for (int i = 0; i < predict.size(); i++) {
      float want = Float.parseFloat(predict.get(i));
      assertEquals(want, Float.parseFloat(out.get("bytes/probabilities").get(i)), 1e-6, "image_bytes score " + i);
      assertEquals(want, Float.parseFloat(out.get("classify/scores").get(i)), 1e-6, "classify score " + i);
    }
    assertEquals("T-shirt/top", out.get("classify/classes").get(0));
    assertEquals("Ankle_boot", out.get("classify/classes").get(9));
    // training-time logits: the run's own inference branch, restored from the exported checkpoint
    Recipe train = FinetuneRecipe.trainingRecipe(r);
    ClassifierTask task = Finetuner.task(r);
    float[] imgs = ClassifierProbe.images(b, size, 5);
    try (Pipeline p = PipelineFactory.training(train, List.of(), 0);
        StepGraph sg = new StepGraph(task, p.fields(), train.getOptimizer(), Compute.fp32(), 1, 0);
        Session s = new Session(sg.graph());
        TFloat32 in = TFloat32.tensorOf(Shape.of(b, size, size, 1), DataBuffers.of(imgs, true, false))) {
      s.restore(sum.bestCheckpoint().toString());
      try (Result res = s.runner().feed(ClassifierTask.EVAL_IMAGES, in).fetch(ClassifierTask.EVAL_LOGITS).run()) {
        TFloat32 l = (TFloat32) res.get(0);
        for (int i = 0; i < b * 10; i++) {
          assertEquals(l.getFloat(i / 10, i % 10), Float.parseFloat(out.get("predict/logits").get(i)), 1e-5,
              "logit " + i);
        }
      }
    }
  }

  @Test
  void resumeOfAFineTuningRunWithMixupEqualsAnUninterruptedRun() throws Exception {
    String[] mix = {"finetune.encoder=random_init", "finetune.mixup.mixup_alpha=0.8",
        "finetune.mixup.cutmix_alpha=1.0", "finetune.mixup.mode=ELEMENT"};
    Recipe full = tiny(dir.resolve("a"), 4, mix);
    Finetuner.Summary a = new Finetuner(full, quiet()).export(false).run();
    List<Double> reference = TinyRecipes.losses(dir.resolve("a/ft"));
    assertEquals(4, reference.size());

    Recipe split = tiny(dir.resolve("b"), 4, mix);
    assertTrue(new Finetuner(split, quiet()).export(false).stopAfter(2).run().train().interrupted());
    Finetuner.Summary b = new Finetuner(split, quiet()).export(false).resume(true).run();
    List<Double> resumed = TinyRecipes.losses(dir.resolve("b/ft"));
    assertEquals(reference, resumed);
    assertEquals(a.top1(), b.top1());
    assertEquals(a.bestTop1(), b.bestTop1());
  }

  @Test
  void theRecipesOwnExportIsTheDefaultEncoderAndAMissingOneIsNamed() throws Exception {
    Recipe r = tiny(dir, 1);
    UserException e = assertThrows(UserException.class, () -> EncoderLoader.locate(r));
    assertTrue(e.getMessage().contains("this recipe's export"), e.getMessage());
    assertEquals("encoder", MethodRegistry.encoderSpec(r).scope());
  }
}
