package org.mimtf.methods.smr;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.mimtf.api.EncoderSpec;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SmrConfig;
import org.mimtf.export.EncoderExporter;
import org.mimtf.export.Exports;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.TokenState;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.reduce.Slots;
import org.mimtf.nn.reduce.TokenCompression;
import org.mimtf.util.UserException;
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
 * The <em>merging</em> encoder as a SavedModel (SMR option {@code export_encoder: PLAIN_AND_MERGING}):
 * the pre-trained ViT with the training-time token compression kept, for fast inference (ToMe's use).
 * The plain encoder (compression removed) is the main export and the downstream model (smr.md §8);
 * this one goes to {@code <export.dir>/<export.name>_merging/<version>}.
 *
 * <p>Signature {@code serving_default}, input {@code images} [batch, H, W, C] in [0, 1] as the plain
 * export. Outputs: {@code cls} [batch, D]; {@code avg_pool} [batch, D], the <em>size-weighted</em>
 * mean of the surviving patch tokens (for merging this equals the mean of {@code patch_tokens});
 * {@code patch_tokens} [batch, N, D] — kept so the export stays a drop-in for the plain one, but
 * <b>unmerged</b>: each grid position holds the survivor its patch went into (tokens of one merge
 * group repeat; positions whose content was deleted by TD/RD are 0); and the compressed sequence
 * itself: {@code merged_tokens} [batch, T', D] (survivors without CLS, T' = N − Σ K),
 * {@code token_sizes} [batch, T'] (patches per survivor), {@code token_slots} int32 [batch, T']
 * (the grid position each survivor occupies) and {@code patch_owner} int32 [batch, N] (index into
 * {@code merged_tokens} of the survivor holding each patch, −1 if deleted). Random dropping uses a
 * fixed seed here.
 */
public final class MergingExport {
  public static final String MERGED_TOKENS = "merged_tokens";
  public static final String TOKEN_SIZES = "token_sizes";
  public static final String TOKEN_SLOTS = "token_slots";
  public static final String PATCH_OWNER = "patch_owner";

  private MergingExport() {}

  /** Whether a recipe asks for the merging export. */
  public static boolean wanted(Recipe r) {
    return r.hasSmr() && r.getSmr().getExportEncoder() == SmrConfig.ExportEncoder.PLAIN_AND_MERGING;
  }

  /** {@code <export.dir>/<export.name>_merging/<export.version>}. */
  public static Path dir(Recipe r) {
    return Path.of(r.getExport().getDir(), r.getExport().getName() + "_merging",
        Integer.toString(r.getExport().getVersion()));
  }

  /** Exports the run's merging encoder from {@code checkpoint}, replacing an older export of the same version. */
  public static Path exportRun(Recipe r, EncoderSpec spec, Path checkpoint, PrintStream out) {
    Path dir = dir(r);
    try {
      org.mimtf.util.Files2.deleteRecursively(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    export(spec, SmrMethod.compression(r.getSmr(), spec.config().depth()), checkpoint, dir,
        Exports.extras(r, checkpoint));
    out.println("exported the merging encoder (" + r.getSmr().getReducer() + ", " + r.getSmr().getMergePerBlock()
        + " per block) to " + dir);
    return dir;
  }

  /**
   * Exports {@code spec}'s encoder with the compression {@code cfg} to {@code dir} (new or empty).
   *
   * @param checkpoint training checkpoint prefix, or null for the initial weights
   */
  public static Path export(EncoderSpec spec, TokenCompression.Config cfg, Path checkpoint, Path dir,
      Map<String, String> extraFiles) {
    try {
      if (Files.exists(dir)) {
        try (var s = Files.list(dir)) {
          if (s.findAny().isPresent()) {
            throw new UserException("export directory " + dir + " exists and is not empty");
          }
        }
      }
      Files.createDirectories(dir.getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    var vc = spec.config();
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(vc.initSeed()));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), vc, false);
      Placeholder<TFloat32> images = tf.withName(EncoderExporter.INPUT).placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, vc.imageSize(), vc.imageSize(), vc.channels())));
      VisionTransformer.Output out = vit.forward(tf, Compute.fp32(), images,
          VisionTransformer.Inputs.none().reducer(new TokenCompression(cfg, null)));
      TokenState st = out.state();
      int t = st.tokens();
      Operand<TFloat32> cls = tf.withName(EncoderExporter.CLS).identity(out.cls(tf));
      Operand<TFloat32> avg = tf.withName(EncoderExporter.AVG_POOL).identity(
          Slots.weightedPatchMean(tf, out.normed(), st.sizes(), t));
      Operand<TFloat32> grid = tf.withName(EncoderExporter.PATCH_TOKENS).identity(
          Slots.unmerge(tf, out.normed(), st.owner())[0]);
      Operand<TFloat32> merged = tf.withName(MERGED_TOKENS).identity(out.patchTokens(tf));
      Operand<TFloat32> sizes = tf.withName(TOKEN_SIZES).identity(tf.squeeze(VisionTransformer.dropCls(tf,
          st.sizes()), org.tensorflow.op.core.Squeeze.axis(java.util.List.of(2L))));
      Operand<TInt32> slots = tf.withName(TOKEN_SLOTS).identity(tf.slice(st.slots(), tf.constant(new int[] {0, 1}),
          tf.constant(new int[] {-1, t - 1})));
      Operand<TInt32> owner = tf.withName(PATCH_OWNER).identity(tf.math.sub(tf.math.maximum(st.owner(),
          tf.constant(0)), tf.constant(1)));
      Op restore = checkpoint == null ? null : EncoderExporter.restoreOp(tf, ps.all(), "encoder", spec.scope());
      try (Session s = new Session(g)) {
        s.initialize();
        if (restore != null) {
          EncoderExporter.restore(s, restore, checkpoint, spec.scope());
        }
        Signature sig = Signature.builder().key(Signature.DEFAULT_KEY).methodName("tensorflow/serving/predict")
            .input(EncoderExporter.INPUT, images).output(EncoderExporter.CLS, cls)
            .output(EncoderExporter.AVG_POOL, avg).output(EncoderExporter.PATCH_TOKENS, grid)
            .output(MERGED_TOKENS, merged).output(TOKEN_SIZES, sizes).output(TOKEN_SLOTS, slots)
            .output(PATCH_OWNER, owner).build();
        SavedModelBundle.exporter(dir.toString()).withTags("serve").withFunction(SessionFunction.create(sig, s))
            .export();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot export to " + dir + ": " + e.getMessage(), e);
    }
    EncoderExporter.writeExtras(dir, extraFiles);
    return dir;
  }
}
