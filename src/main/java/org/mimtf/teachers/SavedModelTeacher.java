package org.mimtf.teachers;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.TeacherConfig;
import org.mimtf.export.SavedModelInfo;
import org.mimtf.train.SessionConfigs;
import org.mimtf.util.UserException;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * A frozen network from a SavedModel that maps images to per-patch outputs: a teacher's features
 * [B, N, D] (a CLIP or DINO vision tower exported from Python, or a mimtf export) or a tokenizer's
 * ids [B, N]. It runs in its own session beside the training session ("loaded beside"): no gradient
 * can reach it and none of its variables is trained or checkpointed with the student.
 *
 * <p>The signature is checked when loading, with errors that name the recipe field, the signature
 * and what was expected: the input must be float images [B, H, W, C] matching the student's size and
 * channels, the output rank 3 (features) or 2 (ids) with the student's patch count.
 */
public final class SavedModelTeacher implements AutoCloseable {
  private final SavedModelBundle bundle;
  private final SessionFunction fn;
  private final String inputKey;
  private final String outputKey;
  private final int patches;
  private final int dim;
  private final boolean ids;
  private final Path dir;

  private SavedModelTeacher(SavedModelBundle bundle, SessionFunction fn, String inputKey, String outputKey,
      int patches, int dim, boolean ids, Path dir) {
    this.bundle = bundle;
    this.fn = fn;
    this.inputKey = inputKey;
    this.outputKey = outputKey;
    this.patches = patches;
    this.dim = dim;
    this.ids = ids;
    this.dir = dir;
  }

  /**
   * Loads and checks a teacher.
   *
   * @param field the recipe field naming it (for messages), e.g. {@code smr.teacher}
   * @param wantIds true for a tokenizer (int ids [B, N]), false for features [B, N, D]
   */
  public static SavedModelTeacher load(TeacherConfig cfg, String field, int imageSize, int channels, int numPatches,
      boolean wantIds) {
    return load(cfg, field, imageSize, channels, numPatches, wantIds, SessionConfigs.inference());
  }

  /**
   * {@link #load(TeacherConfig, String, int, int, int, boolean)} with the session options the frozen
   * model runs under ({@link SessionConfigs#frozenModel}: bf16 where the run trains in bf16).
   */
  public static SavedModelTeacher load(TeacherConfig cfg, String field, int imageSize, int channels, int numPatches,
      boolean wantIds, ConfigProto session) {
    Path dir = Path.of(cfg.getSavedModelDir());
    SavedModelInfo info;
    try {
      info = SavedModelInfo.read(dir);
    } catch (UserException e) {
      throw new UserException(field + ".saved_model_dir: " + e.getMessage(), e);
    }
    String where = field + " (" + info.dir() + ")";
    SavedModelInfo.MetaGraph mg = info.metaGraph("serve").orElseThrow(() -> new UserException(
        where + ": no MetaGraph tagged 'serve'"));
    SavedModelInfo.Signature sig = mg.signature(cfg.getSignature()).orElseThrow(() -> new UserException(
        where + ": no signature '" + cfg.getSignature() + "' (has " + mg.signatures().keySet() + "); set "
            + field + ".signature"));
    SavedModelInfo.TensorSpec in = sig.inputs().get(cfg.getInputKey());
    if (in == null) {
      throw new UserException(where + ": signature '" + sig.key() + "' has no input '" + cfg.getInputKey()
          + "' (inputs: " + sig.inputs().keySet() + "); set " + field + ".input_key");
    }
    if (!in.dtype().equals("DT_FLOAT")) {
      throw new UserException(where + ": input '" + in.name() + "' is " + in.dtype()
          + ", expected DT_FLOAT images in [0, 1]");
    }
    if (!in.unknownRank()) {
      List<Long> d = in.dims();
      if (d.size() != 4) {
        throw new UserException(where + ": input '" + cfg.getInputKey() + "' has shape " + in.shapeString()
            + ", expected images (batch, " + imageSize + ", " + imageSize + ", " + channels + ")");
      }
      long[] want = {-1, imageSize, imageSize, channels};
      for (int i = 1; i < 4; i++) {
        if (d.get(i) >= 0 && d.get(i) != want[i]) {
          throw new UserException(where + ": input '" + cfg.getInputKey() + "' has shape " + in.shapeString()
              + " but the student sees (batch, " + imageSize + ", " + imageSize + ", " + channels + ") images");
        }
      }
    }
    SavedModelInfo.TensorSpec out = sig.outputs().get(cfg.getOutputKey());
    if (out == null) {
      throw new UserException(where + ": signature '" + sig.key() + "' has no output '" + cfg.getOutputKey()
          + "' (outputs: " + sig.outputs().keySet() + "); set " + field + ".output_key");
    }
    int rank = wantIds ? 2 : 3;
    if (!out.unknownRank() && out.dims().size() != rank) {
      throw new UserException(where + ": output '" + cfg.getOutputKey() + "' has shape " + out.shapeString()
          + ", expected " + (wantIds ? "token ids (batch, " + numPatches + ")"
              : "per-patch features (batch, " + numPatches + ", D)"));
    }
    if (!out.unknownRank() && out.dims().get(1) >= 0 && out.dims().get(1) != numPatches) {
      throw new UserException(where + ": output '" + cfg.getOutputKey() + "' has " + out.dims().get(1)
          + " patches per image but the student's grid has " + numPatches + " (patch grids must match)");
    }
    if (wantIds ? !(out.dtype().equals("DT_INT32") || out.dtype().equals("DT_INT64")) : !out.dtype().equals("DT_FLOAT")) {
      throw new UserException(where + ": output '" + cfg.getOutputKey() + "' is " + out.dtype() + ", expected "
          + (wantIds ? "DT_INT32 ids" : "DT_FLOAT features"));
    }
    int d = wantIds ? 1 : (out.unknownRank() || out.dims().get(2) < 0 ? -1 : out.dims().get(2).intValue());
    SavedModelBundle b = SavedModelBundle.loader(info.dir().toString()).withTags("serve")
        .withConfigProto(session).load();
    SessionFunction fn = b.function(cfg.getSignature());
    return new SavedModelTeacher(b, fn, cfg.getInputKey(), cfg.getOutputKey(), numPatches, d, wantIds, info.dir());
  }

  /** Feature width D (−1 until known for an unknown static shape; call {@link #probeDim} then). */
  public int dim() {
    return dim;
  }

  public int patches() {
    return patches;
  }

  public Path dir() {
    return dir;
  }

  /** Runs the teacher once on a zero image to learn D when the signature does not state it. */
  public int probeDim(int imageSize, int channels) {
    return features(new float[imageSize * imageSize * channels], 1, imageSize, channels).length / patches;
  }

  /** Features [batch, N, D] of {@code images} [batch, H, W, C] in [0, 1]. */
  public float[] features(float[] images, int batch, int imageSize, int channels) {
    try (TFloat32 in = TFloat32.tensorOf(Shape.of(batch, imageSize, imageSize, channels),
            DataBuffers.of(images, true, false).narrow((long) batch * imageSize * imageSize * channels));
        Result r = fn.call(Map.of(inputKey, in))) {
      Tensor t = r.get(outputKey).orElseThrow();
      float[] out = new float[(int) t.shape().size()];
      ((TFloat32) t).asRawTensor().data().asFloats().read(out);
      return out;
    }
  }

  /** Token ids [batch, N] of {@code images}. */
  public int[] ids(float[] images, int batch, int imageSize, int channels) {
    try (TFloat32 in = TFloat32.tensorOf(Shape.of(batch, imageSize, imageSize, channels),
            DataBuffers.of(images, true, false).narrow((long) batch * imageSize * imageSize * channels));
        Result r = fn.call(Map.of(inputKey, in))) {
      Tensor t = r.get(outputKey).orElseThrow();
      int[] out = new int[(int) t.shape().size()];
      if (t instanceof TInt64 l) {
        long[] v = new long[out.length];
        l.asRawTensor().data().asLongs().read(v);
        for (int i = 0; i < v.length; i++) {
          out[i] = (int) v[i];
        }
      } else {
        ((TInt32) t).asRawTensor().data().asInts().read(out);
      }
      return out;
    }
  }

  @Override
  public void close() {
    bundle.close();
  }
}
