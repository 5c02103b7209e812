package org.mimtf.nn;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * An exponential-moving-average (momentum) copy of a network: {@code θ_t ← m·θ_t + (1 − m)·θ_s} for
 * every parameter of the source scope that has a twin in the target scope (ConMIM's momentum encoder,
 * MOCA's EMA teacher). The target network is created like any other (same builder, its own scope,
 * non-trainable); {@link ParamStore#aliasSeeds} makes it start as an exact copy.
 */
public final class Ema {
  private final List<Param[]> pairs;

  private Ema(List<Param[]> pairs) {
    this.pairs = pairs;
  }

  /**
   * Pairs every trainable parameter under {@code sourcePrefix} with the parameter of the same relative
   * name under {@code targetPrefix}. Parameters of the source without a twin (e.g. the online
   * network's mask token when the teacher has none) are skipped; a target parameter without a
   * source is an error (it would never move).
   */
  public static Ema between(ParamStore ps, String sourcePrefix, String targetPrefix) {
    List<Param[]> pairs = new ArrayList<>();
    for (Param t : ps.under(targetPrefix)) {
      if (t.kind() == Param.Kind.STATE) {
        continue;
      }
      String rel = t.name().substring(targetPrefix.length());
      Param s = null;
      for (Param p : ps.under(sourcePrefix)) {
        if (p.name().substring(sourcePrefix.length()).equals(rel)) {
          s = p;
          break;
        }
      }
      checkArgument(s != null, "EMA target %s has no source parameter %s%s", t.name(), sourcePrefix, rel);
      checkArgument(!t.trainable(), "EMA target %s must not be trainable", t.name());
      pairs.add(new Param[] {s, t});
    }
    checkArgument(!pairs.isEmpty(), "no parameters under %s", targetPrefix);
    return new Ema(pairs);
  }

  /**
   * The update op for momentum {@code m} (scalar); run it after the optimizer step. It computes the
   * formula as written, {@code m·θ_t + (1 − m)·θ_s} (fp32, one rounding per product and one for the
   * sum), so m = 1 leaves the copy bit-identical and m = 0 makes it bit-identical to the source.
   */
  public Op update(Ops tf, Operand<TFloat32> momentum) {
    Operand<TFloat32> rate = tf.math.sub(tf.constant(1f), momentum);
    List<Op> ops = new ArrayList<>();
    for (Param[] p : pairs) {
      // Fresh reads made with tf's control dependencies (the optimizer step): they see the updated
      // online weights whether the optimizer wrote in place (ApplyAdam) or by Assign (fp16 guard).
      Operand<TFloat32> source = tf.identity(p[0].variable());
      Operand<TFloat32> target = tf.identity(p[1].variable());
      ops.add(tf.assign(p[1].variable(), tf.math.add(tf.math.mul(momentum, target), tf.math.mul(rate, source))));
    }
    return tf.withControlDependencies(ops).withName("ema_update").noOp();
  }

  /**
   * Cosine similarity between the flattened source and target weights (ConMIM logs it: it rises
   * toward 1 as the momentum goes to 1).
   */
  public Operand<TFloat32> cosine(Ops tf) {
    List<Operand<TFloat32>> dots = new ArrayList<>();
    List<Operand<TFloat32>> ns = new ArrayList<>();
    List<Operand<TFloat32>> nt = new ArrayList<>();
    for (Param[] p : pairs) {
      Operand<org.tensorflow.types.TInt32> all = tf.range(tf.constant(0), tf.rank(p[0].read()), tf.constant(1));
      dots.add(tf.sum(tf.math.mul(p[0].read(), p[1].read()), all));
      ns.add(tf.sum(tf.math.square(p[0].read()), all));
      nt.add(tf.sum(tf.math.square(p[1].read()), all));
    }
    return tf.math.div(tf.math.addN(dots), tf.math.sqrt(tf.math.mul(tf.math.addN(ns), tf.math.addN(nt))));
  }

  public int size() {
    return pairs.size();
  }
}
