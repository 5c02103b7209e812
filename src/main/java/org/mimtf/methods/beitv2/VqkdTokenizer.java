package org.mimtf.methods.beitv2;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.mimtf.config.proto.Beitv2Config;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.export.EncoderExporter;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.teachers.SavedModelTeacher;
import org.mimtf.teachers.TeacherFeatures;
import org.mimtf.train.Trainer;
import org.mimtf.util.Files2;
import org.mimtf.util.Json;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * {@code mimtf tokenizer train} for BEiT v2: the VQ-KD stage as a run of its own (its recipe is the
 * {@code beitv2.tokenizer} section: encoder, decoder, codebook, teacher, optimizer, schedule,
 * training, data), then the tokenizer SavedModel that stage 2 loads.
 *
 * <p>Tokenizer folder ({@code beitv2.tokenizer.dir}, default {@code <run_dir>/tokenizer}):
 * {@code train/} (the stage's run: checkpoints, metrics, events) and {@code saved_model/} (input
 * {@code images} [B, H, W, C] in [0, 1]; outputs {@code token_ids} int32 [B, N] and {@code codes}
 * [B, N, d]).
 */
public final class VqkdTokenizer {
  public static final String TOKEN_IDS = "token_ids";

  /** What the stage produced. */
  public record Built(Path dir, Path savedModel, Trainer.Summary run) {}

  private VqkdTokenizer() {}

  public static Path dir(Recipe r) {
    String d = r.getBeitv2().getTokenizer().getDir();
    return d.isEmpty() ? Path.of(r.getTraining().getRunDir()).resolve("tokenizer") : Path.of(d);
  }

  public static Path savedModel(Recipe r) {
    return dir(r).resolve("saved_model");
  }

  /** The stage's own recipe: the tokenizer section in place of model, data, optimizer, schedule, training. */
  static Recipe stageRecipe(Recipe r) {
    Beitv2Config.Vqkd v = r.getBeitv2().getTokenizer();
    TrainingConfig.Builder t = v.getTraining().toBuilder();
    if (!v.getTraining().hasRunDir() || v.getTraining().getRunDir().isEmpty()) {
      t.setRunDir(dir(r).resolve("train").toString());
    }
    Recipe.Builder b = r.toBuilder().setName(r.getName() + "_vqkd").setModel(v.getEncoder()).setData(v.getData())
        .setOptimizer(v.getOptimizer()).setSchedule(v.getSchedule()).setTraining(t).clearMasking();
    return b.build();
  }

  public static Built train(Recipe r, boolean resume, PrintStream out) {
    Beitv2Config.Vqkd v = r.getBeitv2().getTokenizer();
    Recipe stage = stageRecipe(r);
    var enc = stage.getModel();
    int n = (enc.getImageSize() / enc.getPatchSize()) * (enc.getImageSize() / enc.getPatchSize());
    String view = stage.getData().getView(0).getName();
    SavedModelTeacher teacher = SavedModelTeacher.load(v.getTeacher(), "beitv2.tokenizer.teacher", enc.getImageSize(),
        enc.getChannels(), n, false, org.mimtf.train.SessionConfigs.frozenModel(stage.getTraining()));
    TeacherFeatures tf = new TeacherFeatures(teacher, view, VqkdMethod.TEACHER_FIELD, enc.getImageSize(),
        enc.getChannels());
    out.printf("VQ-KD tokenizer: teacher %s (%d-d features), codebook %d x %d%n", teacher.dir(), tf.dim(),
        v.getCodebookSize(), v.getCodebookDim());
    VqkdMethod method = new VqkdMethod(v, tf, view);
    Trainer.Summary s;
    try {
      s = new Trainer(stage, method, resume, out).run();
    } finally {
      tf.close();
    }
    Path sm = savedModel(r);
    export(v, tf.dim(), s.lastCheckpoint(), sm, Map.of("provenance.json",
        org.mimtf.util.Provenance.of(stage).put("checkpoint", String.valueOf(s.lastCheckpoint())) + "\n"));
    out.println("tokenizer SavedModel: " + sm);
    return new Built(dir(r), sm, s);
  }

  /** Exports the trained tokenizer (encoder, task layer, codebook) from {@code checkpoint}. */
  public static void export(Beitv2Config.Vqkd v, int targetDim, Path checkpoint, Path dir, Map<String, String> extra) {
    try {
      Files2.deleteRecursively(dir);
      Files.createDirectories(dir.getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    VqkdModel model = new VqkdModel(v, targetDim);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      model.create(tf, ps);
      var cfg = model.encoderCfg;
      Placeholder<TFloat32> images = tf.withName("images").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, cfg.imageSize(), cfg.imageSize(), cfg.channels())));
      Operand<TFloat32> z = model.encode(tf, Compute.fp32(), images, null);
      Operand<TInt32> flat = tf.math.argMax(Compute.fp32().matMul(tf, z, model.quantizer.codebook(), false, true),
          tf.constant(1), TInt32.class);
      Operand<TInt32> ids = tf.withName(TOKEN_IDS).reshape(flat, tf.constant(new int[] {-1, cfg.numPatches()}));
      Operand<TFloat32> codes = tf.withName("codes").reshape(tf.gather(model.quantizer.codebook(), flat,
          tf.constant(0)), tf.constant(new int[] {-1, cfg.numPatches(), v.getCodebookDim()}));
      Op restore = EncoderExporter.restoreOp(tf, ps.all(), "tokenizer", "tokenizer");
      try (Session s = new Session(g)) {
        s.initialize();
        EncoderExporter.restore(s, restore, checkpoint, "tokenizer");
        Signature sig = Signature.builder().key(Signature.DEFAULT_KEY).methodName("tensorflow/serving/predict")
            .input("images", images).output(TOKEN_IDS, ids).output("codes", codes).build();
        SavedModelBundle.exporter(dir.toString()).withTags("serve").withFunction(SessionFunction.create(sig, s))
            .export();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot export the tokenizer to " + dir + ": " + e.getMessage(), e);
    }
    try {
      Path ex = dir.resolve("assets.extra");
      Files.createDirectories(ex);
      for (var e : extra.entrySet()) {
        Files.writeString(ex.resolve(e.getKey()), e.getValue());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Fraction of the codebook the tokenizer uses on a labelled image set (the evaluation images), read
   * with the evaluation view.
   */
  public static double usage(Path savedModel, org.mimtf.config.proto.SourceConfig images,
      org.mimtf.config.proto.ModelConfig model, int codebookSize) {
    boolean[] used = new boolean[codebookSize];
    var cfg = org.mimtf.config.proto.TeacherConfig.newBuilder().setSavedModelDir(savedModel.toString())
        .setOutputKey(TOKEN_IDS).build();
    int size = model.getImageSize();
    int g = size / model.getPatchSize();
    try (SavedModelTeacher t = SavedModelTeacher.load(cfg, "tokenizer", size, model.getChannels(), g * g, true);
        var p = org.mimtf.data.recipe.PipelineFactory.evaluation(images, "eval.test", model, 256, 2,
            org.mimtf.config.proto.DataConfig.Decoder.TENSORFLOW)) {
      while (p.hasNext()) {
        var b = p.next();
        for (int id : t.ids(b.floats("image"), b.size(), size, model.getChannels())) {
          used[id] = true;
        }
      }
    }
    int u = 0;
    for (boolean x : used) {
      u += x ? 1 : 0;
    }
    return u / (double) codebookSize;
  }

  static Json.Obj summary(Built b) {
    return Json.obj().put("tokenizer_dir", b.dir().toString()).put("saved_model", b.savedModel().toString())
        .put("steps", b.run().step()).put("train_seconds", b.run().trainSeconds()).putAll(b.run().lastMetrics());
  }
}
