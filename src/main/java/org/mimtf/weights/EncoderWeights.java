package org.mimtf.weights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.mimtf.export.CheckpointIndex;
import org.mimtf.nn.Param;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.Checkpoints;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.Restore;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * Moves weights between host tensors and TensorFlow checkpoints (V2 format, the one
 * {@link Checkpoints} writes and {@code tf.train.load_checkpoint} reads), without building a network:
 * a {@code SaveV2}/{@code RestoreV2} op over the named tensors.
 */
public final class EncoderWeights {
  private EncoderWeights() {}

  /**
   * Writes {@code vars} (full variable names such as {@code encoder/blocks/0/attn/qkv/kernel}) as
   * checkpoint {@code ckpt-<step>} in {@code dir}, with the {@code checkpoint} state file pointing to
   * it, so that {@code Checkpoints.latest()} finds it. Returns its prefix.
   */
  public static Path writeCheckpoint(Path dir, long step, Map<String, TensorData> vars) {
    Checkpoints ck = new Checkpoints(dir, 1);
    Path prefix = ck.prefix(step);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
    List<TFloat32> feeds = new ArrayList<>();
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> tensors = new ArrayList<>();
      List<String> names = new ArrayList<>(vars.keySet());
      for (var e : vars.entrySet()) {
        TensorData v = e.getValue();
        TFloat32 t = TFloat32.tensorOf(Shape.of(v.shape()), DataBuffers.of(v.data(), true, false));
        feeds.add(t);
        tensors.add(tf.placeholder(TFloat32.class));
      }
      String[] slices = new String[names.size()];
      java.util.Arrays.fill(slices, "");
      Op save = tf.train.save(tf.constant(prefix.toString()),
          tf.constant(StdArrays.ndCopyOf(names.toArray(new String[0]))), tf.constant(StdArrays.ndCopyOf(slices)),
          tensors);
      try (Session s = new Session(g)) {
        Session.Runner r = s.runner();
        for (int i = 0; i < tensors.size(); i++) {
          r.feed(tensors.get(i), feeds.get(i));
        }
        r.addTarget(save).run();
      }
      String name = prefix.getFileName().toString();
      Checkpoints.writeAtomically(dir.resolve("checkpoint"), "model_checkpoint_path: \"" + name
          + "\"\nall_model_checkpoint_paths: \"" + name + "\"\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
    } finally {
      feeds.forEach(TFloat32::close);
    }
    return prefix;
  }

  /** The float32 variables of checkpoint {@code prefix} whose names pass {@code keep}, by full name. */
  public static Map<String, TensorData> read(Path prefix, Predicate<String> keep) {
    Path index = Path.of(prefix + ".index");
    if (!Files.exists(index)) {
      throw new UserException("no checkpoint at " + prefix + " (" + index.getFileName() + " is missing)");
    }
    List<String> names = new ArrayList<>();
    for (CheckpointIndex.Entry e : CheckpointIndex.read(index)) {
      if (e.dtype().equals("DT_FLOAT") && keep.test(e.name())) {
        names.add(e.name());
      }
    }
    return restore(prefix, names);
  }

  /** Reads {@code names} (full names) from checkpoint {@code prefix}; a clear error when one is absent. */
  public static Map<String, TensorData> restore(Path prefix, List<String> names) {
    Map<String, TensorData> out = new LinkedHashMap<>();
    if (names.isEmpty()) {
      return out;
    }
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      String[] slices = new String[names.size()];
      java.util.Arrays.fill(slices, "");
      List<Class<? extends TType>> types = new ArrayList<>();
      names.forEach(n -> types.add(TFloat32.class));
      Restore r = tf.train.restore(tf.constant(prefix.toString()),
          tf.constant(StdArrays.ndCopyOf(names.toArray(new String[0]))), tf.constant(StdArrays.ndCopyOf(slices)),
          types);
      Session.Runner run = s.runner();
      r.tensors().forEach(run::fetch);
      try (Result res = run.run()) {
        for (int i = 0; i < names.size(); i++) {
          TFloat32 t = (TFloat32) res.get(i);
          float[] v = new float[(int) t.shape().size()];
          t.asRawTensor().data().asFloats().read(v);
          out.put(names.get(i), new TensorData(t.shape().asArray(), v));
        }
      }
    } catch (RuntimeException e) {
      if (e instanceof UserException) {
        throw e;
      }
      String m = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
      throw new UserException("cannot read " + names.size() + " variables from checkpoint " + prefix + ": " + m, e);
    }
    return out;
  }

  /**
   * The encoder of {@code cfg} stored under {@code scope} in checkpoint {@code prefix}, by name
   * relative to the scope; {@code mask_token} is included when the checkpoint has it.
   */
  public static Map<String, TensorData> readEncoder(VitConfig cfg, String scope, Path prefix) {
    Map<String, long[]> want = TimmNames.mimtfShapes(cfg, false);
    List<String> names = new ArrayList<>();
    want.keySet().forEach(n -> names.add(scope + "/" + n));
    Path index = Path.of(prefix + ".index");
    if (Files.exists(index) && CheckpointIndex.read(index).stream().anyMatch(e -> e.name().equals(scope
        + "/mask_token"))) {
      names.add(scope + "/mask_token");
    }
    Map<String, TensorData> full = restore(prefix, names);
    Map<String, TensorData> out = new LinkedHashMap<>();
    full.forEach((k, v) -> out.put(k.substring(scope.length() + 1), v));
    for (var e : want.entrySet()) {
      TensorData t = out.get(e.getKey());
      if (!java.util.Arrays.equals(t.shape(), e.getValue())) {
        throw new UserException("checkpoint " + prefix + ": " + scope + "/" + e.getKey() + " has shape "
            + t.shapeString() + ", the recipe's encoder expects " + java.util.Arrays.toString(e.getValue()));
      }
    }
    return out;
  }

  /** Ops assigning {@code values} (relative names) to the matching parameters of {@code params}. */
  public static List<Op> assignOps(Ops tf, List<Param> params, String scope, Map<String, TensorData> values) {
    List<Op> ops = new ArrayList<>();
    for (Param p : params) {
      String rel = p.name().substring(scope.length() + 1);
      TensorData v = values.get(rel);
      if (v != null) {
        ops.add(tf.assign(p.variable(), tf.constant(Shape.of(v.shape()), DataBuffers.of(v.data(), true, false))));
      }
    }
    return ops;
  }
}
