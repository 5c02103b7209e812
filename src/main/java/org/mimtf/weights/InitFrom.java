package org.mimtf.weights;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.mimtf.export.CheckpointIndex;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.Restore;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * {@code pretrain --init-from}: after the variables are initialised, overwrites those that a given
 * checkpoint holds (an imported PyTorch encoder, another run's checkpoint) by name. A copy of the
 * encoder under another scope ({@code momentum/encoder/...}, {@code teacher/encoder/...}: the
 * momentum and EMA networks that start as copies of the online encoder) is loaded from
 * {@code encoder/...} too; no other scope is (a frozen tokenizer's encoder keeps its weights). Shapes must agree; variables the checkpoint lacks keep their
 * initialisation and are counted.
 */
public final class InitFrom {
  /** Scopes whose {@code encoder/} starts as a copy of the online encoder (ConMIM, MOCA). */
  public static final java.util.List<String> COPIES = java.util.List.of("momentum/", "teacher/");

  private InitFrom() {}

  /** What was restored: variables loaded directly, loaded as copies of {@code encoder/}, left as initialised. */
  public record Loaded(int direct, int copies, int kept) {}

  public static Loaded apply(Session s, Graph g, ParamStore params, Path prefix) {
    Path index = Path.of(prefix + ".index");
    if (!Files.exists(index)) {
      throw new UserException("--init-from " + prefix + ": no checkpoint there (" + index.getFileName()
          + " is missing); give a prefix such as imported/beit/checkpoints/ckpt-0");
    }
    Map<String, List<Long>> stored = new LinkedHashMap<>();
    for (CheckpointIndex.Entry e : CheckpointIndex.read(index)) {
      if (e.dtype().equals("DT_FLOAT")) {
        stored.put(e.name(), e.dims());
      }
    }
    Map<String, Param> targets = new LinkedHashMap<>();
    Map<String, String> source = new LinkedHashMap<>();
    int copies = 0;
    for (Param p : params.all()) {
      String n = p.name();
      if (targets.containsKey(n)) {
        continue; // a tower's rebound view of the same variable
      }
      String src = stored.containsKey(n) ? n : null;
      for (String copy : COPIES) {
        String base = n.startsWith(copy) ? n.substring(copy.length()) : null;
        if (src == null && base != null && base.startsWith("encoder/") && stored.containsKey(base)) {
          src = base;
          copies++;
        }
      }
      if (src != null) {
        List<Long> dims = stored.get(src);
        List<Long> want = java.util.Arrays.stream(p.shape().asArray()).boxed().collect(Collectors.toList());
        if (!dims.equals(want)) {
          throw new UserException("--init-from " + prefix + ": " + src + " has shape " + dims + ", the recipe's "
              + n + " has " + want);
        }
        targets.put(n, p);
        source.put(n, src);
      }
    }
    if (targets.isEmpty()) {
      Set<String> some = stored.keySet().stream().limit(5).collect(Collectors.toSet());
      throw new UserException("--init-from " + prefix + ": none of its variables (e.g. " + some + ") is a variable "
          + "of this recipe's graph");
    }
    Ops tf = Ops.create(g).withSubScope("init_from");
    List<String> names = new ArrayList<>(source.values());
    String[] slices = new String[names.size()];
    java.util.Arrays.fill(slices, "");
    List<Class<? extends TType>> types = new ArrayList<>();
    names.forEach(x -> types.add(TFloat32.class));
    Restore r = tf.train.restore(tf.constant(prefix.toString()), tf.constant(StdArrays.ndCopyOf(names.toArray(
        new String[0]))), tf.constant(StdArrays.ndCopyOf(slices)), types);
    List<Op> assigns = new ArrayList<>();
    int i = 0;
    for (Param p : targets.values()) {
      @SuppressWarnings("unchecked")
      var v = (org.tensorflow.Operand<TFloat32>) r.tensors().get(i++);
      assigns.add(tf.assign(p.variable(), v));
    }
    Op all = tf.withControlDependencies(assigns).noOp();
    s.runner().addTarget(all).run();
    int distinct = (int) params.all().stream().map(Param::name).distinct().count();
    return new Loaded(targets.size() - copies, copies, distinct - targets.size());
  }
}
