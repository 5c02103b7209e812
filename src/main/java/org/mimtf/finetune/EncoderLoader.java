package org.mimtf.finetune;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.Recipe;
import org.mimtf.export.CheckpointIndex;
import org.mimtf.export.Exports;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.nn.Param;
import org.mimtf.train.Checkpoints;
import org.mimtf.util.UserException;
import org.mimtf.weights.EncoderWeights;
import org.mimtf.weights.PositionResize;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * Loads pre-trained encoder weights, by variable name, into a fine-tuning run — from an encoder
 * SavedModel ({@code savedmodels/<name>/1}: variables {@code encoder/...}), a pre-training run
 * directory (its latest checkpoint) or a checkpoint prefix (variables under the method's encoder
 * scope, e.g. {@code momentum/encoder/...} for ConMIM).
 *
 * <p>As the official fine-tuning scripts: pre-training-only variables (mask token, heads, decoders,
 * optimizer slots) are ignored; a shared relative position bias table is copied into every block's
 * own table ({@code use_rel_pos_bias}); variables the source lacks keep their initial values and are
 * reported. A shape that does not fit stops the run with the variable's name and both shapes, except
 * a learned absolute position table at another grid size, which is resized bicubically as BEiT's
 * {@code interpolate_pos_embed} (the CLS row kept). Sin-cos tables are constants recomputed for the
 * fine-tuning grid; a relative bias table at another grid size is refused.
 */
public final class EncoderLoader {
  private static final String TARGET_SCOPE = "encoder";
  private static final String SHARED_REL = "/rel_pos_bias/relative_position_bias_table";

  private EncoderLoader() {}

  /**
   * Where the weights come from.
   *
   * @param prefix checkpoint prefix (a SavedModel's {@code variables/variables})
   * @param scope the encoder's variable scope in that checkpoint
   */
  public record Source(Path prefix, String scope, String description) {}

  /** What a load did: tensors loaded (some adapted), target variables left initialised, source tensors ignored. */
  public record Report(List<String> loaded, List<String> adapted, List<String> initialised, int ignored) {
    public String summary(Source s) {
      return "loaded " + loaded.size() + " encoder tensors from " + s.description() + (adapted.isEmpty() ? ""
          : " (adapted: " + String.join(", ", adapted) + ")") + "; initialised " + initialised.size() + ": "
          + String.join(", ", initialised) + "; ignored " + ignored + " other tensors of the source";
    }
  }

  /** The source named by {@code finetune.encoder}, or null for {@code random_init}. */
  public static Source locate(Recipe r) {
    String enc = r.getFinetune().getEncoder();
    if (enc.equals(FinetuneRecipe.RANDOM_INIT)) {
      return null;
    }
    Path p = enc.isEmpty() ? Exports.exportDir(r) : Path.of(enc);
    String scope = !r.getFinetune().getEncoderScope().isEmpty() ? r.getFinetune().getEncoderScope()
        : MethodRegistry.encoderSpec(r).scope();
    if (Files.exists(p.resolve("saved_model.pb"))) {
      return new Source(p.resolve("variables/variables"), TARGET_SCOPE, "the SavedModel " + p);
    }
    Path version = newestVersion(p);
    if (version != null) {
      return new Source(version.resolve("variables/variables"), TARGET_SCOPE, "the SavedModel " + version);
    }
    if (Files.isDirectory(p.resolve("checkpoints"))) {
      Path latest = new Checkpoints(p.resolve("checkpoints"), 1).latest().orElseThrow(() -> new UserException(
          "finetune.encoder: run directory " + p + " has no complete checkpoint"));
      return new Source(latest, scope, "checkpoint " + latest + " (scope " + scope + "/)");
    }
    if (Files.exists(Path.of(p + ".index"))) {
      return new Source(p, scope, "checkpoint " + p + " (scope " + scope + "/)");
    }
    throw new UserException("finetune.encoder: " + p + (enc.isEmpty() ? " (this recipe's export; run "
        + "'mimtf pretrain' first, or set finetune.encoder)" : "") + " is neither a SavedModel folder "
        + "(saved_model.pb), a run directory (checkpoints/), a checkpoint prefix (<prefix>.index) nor \""
        + FinetuneRecipe.RANDOM_INIT + "\"");
  }

  /**
   * Whether {@code p} is one of the encoder forms {@code finetune.encoder} accepts: a SavedModel folder,
   * a folder of numbered SavedModel versions, a run directory with checkpoints, or a checkpoint prefix.
   */
  public static boolean exists(Path p) {
    return Files.exists(p.resolve("saved_model.pb")) || newestVersion(p) != null
        || Files.isDirectory(p.resolve("checkpoints")) || Files.exists(Path.of(p + ".index"));
  }

  private static Path newestVersion(Path p) {
    if (!Files.isDirectory(p)) {
      return null;
    }
    try (var s = Files.list(p)) {
      return s.filter(d -> d.getFileName().toString().matches("\\d+") && Files.exists(d.resolve("saved_model.pb")))
          .max(java.util.Comparator.comparingLong(d -> Long.parseLong(d.getFileName().toString()))).orElse(null);
    } catch (java.io.IOException e) {
      return null;
    }
  }

  /** One target variable and the source tensor it takes. */
  private record Plan(int index, Param target, String source, List<Long> sourceDims, boolean resize) {}

  /**
   * Loads {@code src} into the encoder variables among {@code targets} (whose i-th element is
   * assigned by {@code finetune_load/assign_<i>} fed {@code finetune_load/value_<i>}).
   *
   * @throws UserException naming the variable and both shapes when a tensor does not fit
   */
  public static Report load(Session s, List<Param> targets, Source src, boolean interpolate) {
    List<CheckpointIndex.Entry> entries = CheckpointIndex.read(Path.of(src.prefix() + ".index"));
    Map<String, List<Long>> dims = new LinkedHashMap<>();
    for (CheckpointIndex.Entry e : entries) {
      dims.put(e.name(), e.dims());
    }
    List<Plan> plans = plan(targets, src, dims, interpolate);
    java.util.Set<String> used = new java.util.HashSet<>();
    List<String> names = new ArrayList<>();
    for (Plan p : plans) {
      if (used.add(p.source())) {
        names.add(p.source());
      }
    }
    Map<String, float[]> values = read(src.prefix(), names);
    List<String> loaded = new ArrayList<>();
    List<String> adapted = new ArrayList<>();
    List<String> initialised = new ArrayList<>();
    java.util.Set<String> planned = new java.util.HashSet<>();
    for (Plan p : plans) {
      planned.add(p.target().name());
      float[] v = values.get(p.source());
      if (p.resize()) {
        v = PositionResize.resizeBeit(v, p.sourceDims().get(0), p.target().shape().get(0), p.sourceDims().get(1));
        adapted.add(p.target().name() + " resized from " + shape(p.sourceDims()) + " to " + p.target().shape());
      } else if (!p.source().equals(src.scope() + p.target().name().substring(TARGET_SCOPE.length()))) {
        adapted.add(p.target().name() + " copied from " + p.source());
      }
      assign(s, p.index(), p.target().shape(), v);
      loaded.add(p.target().name());
    }
    for (Param t : targets) {
      if (!planned.contains(t.name())) {
        initialised.add(t.name());
      }
    }
    int ignored = (int) entries.stream().filter(e -> !used.contains(e.name())).count();
    return new Report(loaded, adapted, initialised, ignored);
  }

  private static List<Plan> plan(List<Param> targets, Source src, Map<String, List<Long>> dims, boolean interpolate) {
    List<Plan> plans = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) {
      Param t = targets.get(i);
      if (!t.name().startsWith(TARGET_SCOPE + "/")) {
        continue; // fc_norm, head: fresh
      }
      String rel = t.name().substring(TARGET_SCOPE.length());
      String name = src.scope() + rel;
      if (!dims.containsKey(name) && rel.endsWith("/attn/relative_position_bias_table")
          && dims.containsKey(src.scope() + SHARED_REL)) {
        name = src.scope() + SHARED_REL; // BEiT fine-tuning: every block starts from the shared table
      }
      List<Long> have = dims.get(name);
      if (have == null) {
        continue;
      }
      List<Long> want = new ArrayList<>();
      for (long d : t.shape().asArray()) {
        want.add(d);
      }
      if (have.equals(want)) {
        plans.add(new Plan(i, t, name, have, false));
        continue;
      }
      boolean posTable = rel.equals("/pos_embed");
      if (posTable && interpolate && have.size() == 2 && have.get(1).equals(want.get(1))
          && isSquare(have.get(0) - 1) && isSquare(want.get(0) - 1)) {
        plans.add(new Plan(i, t, name, have, true));
        continue;
      }
      String hint = rel.contains("relative_position_bias_table")
          ? " (the relative position bias table depends on the patch grid; fine-tune at the pre-training image "
              + "size and patch size)"
          : posTable ? (interpolate ? "" : " (set finetune.interpolate_positions: true to resize it)")
          : " (model.width, depth, num_heads, mlp_dim, patch_size and channels must match the pre-trained encoder)";
      throw new UserException("finetune.encoder: variable " + name + " has shape " + shape(have) + " in "
          + src.description() + " but " + t.name() + " has shape " + shape(want) + " in the fine-tuning model"
          + hint);
    }
    return plans;
  }

  private static String shape(List<Long> dims) {
    return new CheckpointIndex.Entry("", "", dims).shapeString();
  }

  private static boolean isSquare(long n) {
    long r = Math.round(Math.sqrt(n));
    return r * r == n;
  }

  /** Reads float tensors of a checkpoint by name (the weights importer's reader). */
  static Map<String, float[]> read(Path prefix, List<String> names) {
    Map<String, float[]> out = new LinkedHashMap<>();
    try {
      EncoderWeights.restore(prefix, names).forEach((name, t) -> out.put(name, t.data()));
    } catch (UserException e) {
      throw new UserException("finetune.encoder: " + e.getMessage(), e);
    }
    return out;
  }

  private static void assign(Session s, int index, Shape shape, float[] v) {
    try (TFloat32 t = TFloat32.tensorOf(shape, DataBuffers.of(v, true, false))) {
      s.runner().feed(ClassifierTask.LOAD_SCOPE + "/value_" + index, t)
          .addTarget(ClassifierTask.LOAD_SCOPE + "/assign_" + index).run();
    }
  }
}
