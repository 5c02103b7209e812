package org.mimtf.export;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.api.EncoderSpec;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.train.Restore;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * Exports a pre-trained encoder as a SavedModel that TF Serving and Python TensorFlow load as they are.
 *
 * <p>The export holds only the encoder: a fresh inference graph (no mask token, no heads, no optimizer
 * state, no drop path) with variables named {@code encoder/...} whatever scope the encoder had in
 * training ({@code momentum/encoder} for ConMIM, {@code teacher/encoder} for MOCA), restored from the
 * training checkpoint by name mapping. Layout: {@code <dir>/saved_model.pb}, {@code variables/},
 * and {@code assets.extra/} with the provenance and recipe.
 *
 * <p>Signature {@code serving_default} (tag {@code serve}, method {@code tensorflow/serving/predict}):
 * input {@code images} float32 [batch, H, W, C] with values in [0, 1] (normalisation is inside the
 * graph); outputs {@code cls} [batch, D] (final-norm CLS token), {@code avg_pool} [batch, D] (mean of
 * the final-norm patch tokens) and {@code patch_tokens} [batch, N, D].
 */
public final class EncoderExporter {
  public static final String INPUT = "images";
  public static final String CLS = "cls";
  public static final String AVG_POOL = "avg_pool";
  public static final String PATCH_TOKENS = "patch_tokens";

  private EncoderExporter() {}

  /**
   * Exports {@code spec}'s encoder to {@code dir} (which must not exist yet or be empty).
   *
   * @param checkpoint training checkpoint prefix to restore from, or null to export the initial
   *     (random) weights — the "random init" baseline of the evaluations
   * @param extraFiles files for {@code assets.extra/} (name → content), e.g. provenance
   */
  public static Path export(EncoderSpec spec, Path checkpoint, Path dir, java.util.Map<String, String> extraFiles) {
    try {
      if (Files.exists(dir)) {
        try (var s = Files.list(dir)) {
          if (s.findAny().isPresent()) {
            throw new UserException("export directory " + dir + " exists and is not empty; remove it or set "
                + "export.version to a new number");
          }
        }
      }
      Files.createDirectories(dir.getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(spec.config().initSeed()));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), spec.config(), false);
      var cfg = spec.config();
      Placeholder<TFloat32> images = tf.withName(INPUT).placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, cfg.imageSize(), cfg.imageSize(), cfg.channels())));
      VisionTransformer.Output out = vit.forward(tf, Compute.fp32(), images, VisionTransformer.Inputs.none());
      Operand<TFloat32> cls = tf.withName(CLS).identity(out.cls(tf));
      Operand<TFloat32> avg = tf.withName(AVG_POOL).identity(out.avgPool(tf));
      Operand<TFloat32> patches = tf.withName(PATCH_TOKENS).identity(out.patchTokens(tf));
      Op restore = checkpoint == null ? null : restoreOp(tf, ps.all(), "encoder", spec.scope());
      try (Session s = new Session(g)) {
        s.initialize();
        if (restore != null) {
          restore(s, restore, checkpoint, spec.scope());
        }
        Signature sig = Signature.builder().key(Signature.DEFAULT_KEY).methodName("tensorflow/serving/predict")
            .input(INPUT, images).output(CLS, cls).output(AVG_POOL, avg).output(PATCH_TOKENS, patches).build();
        SavedModelBundle.exporter(dir.toString()).withTags("serve").withFunction(SessionFunction.create(sig, s))
            .export();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot export to " + dir + ": " + e.getMessage(), e);
    }
    writeExtras(dir, extraFiles);
    return dir;
  }

  /**
   * Writes {@code extraFiles} (name → text: the recipe, provenance) into the SavedModel's
   * {@code assets.extra/}, the folder TF Serving and {@code tf.saved_model.load} ignore.
   */
  public static void writeExtras(Path dir, java.util.Map<String, String> extraFiles) {
    try {
      Path extra = dir.resolve("assets.extra");
      Files.createDirectories(extra);
      for (var e : extraFiles.entrySet()) {
        Files.writeString(extra.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir.resolve("assets.extra") + ": " + e.getMessage(), e);
    }
  }

  /**
   * A restore op that reads {@code sourceScope/...} tensors of a checkpoint into the variables named
   * {@code targetScope/...}; the checkpoint prefix is fed to {@code export_restore/prefix}.
   */
  public static Op restoreOp(Ops tf, List<Param> params, String targetScope, String sourceScope) {
    Ops r = tf.withSubScope("export_restore");
    Placeholder<TString> prefix = r.withName("prefix").placeholder(TString.class, Placeholder.shape(Shape.scalar()));
    List<String> names = new ArrayList<>();
    List<Class<? extends TType>> types = new ArrayList<>();
    for (Param p : params) {
      String n = p.name();
      names.add(sourceScope + n.substring(targetScope.length()));
      types.add(TFloat32.class);
    }
    String[] slices = new String[names.size()];
    java.util.Arrays.fill(slices, "");
    Restore restore = r.train.restore(prefix, r.constant(StdArrays.ndCopyOf(names.toArray(new String[0]))),
        r.constant(StdArrays.ndCopyOf(slices)), types);
    List<Op> assigns = new ArrayList<>();
    for (int i = 0; i < params.size(); i++) {
      @SuppressWarnings("unchecked")
      Operand<TFloat32> v = (Operand<TFloat32>) restore.tensors().get(i);
      assigns.add(r.assign(params.get(i).variable(), v));
    }
    return r.withControlDependencies(assigns).withName("restore_all").noOp();
  }

  /** Runs a {@link #restoreOp} from {@code checkpoint}, with a clear error when names do not match. */
  public static void restore(Session s, Op restore, Path checkpoint, String scope) {
    try (TString prefix = TString.scalarOf(checkpoint.toString())) {
      s.runner().feed("export_restore/prefix", prefix).addTarget(restore).run();
    } catch (RuntimeException e) {
      throw new UserException("cannot restore " + scope + "/ from checkpoint " + checkpoint + ": "
          + firstLine(e.getMessage()), e);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
