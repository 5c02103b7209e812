package org.mimtf.train;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.nn.Param;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * AdamW (Loshchilov & Hutter 2019) as graph ops, matching {@code torch.optim.AdamW}:
 * <pre>
 *   m ← β₁ m + (1−β₁) g        v ← β₂ v + (1−β₂) g²
 *   θ ← θ·(1 − lr·wd) − lr · m̂ / (√v̂ + ε),   m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
 * </pre>
 * The Adam part runs in TF's fused {@code ApplyAdam} kernel (one pass over each tensor). That kernel
 * computes {@code lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε')}, which equals PyTorch's formula exactly when
 * ε' = ε·√(1−β₂ᵗ); this class feeds that ε'. Weight decay is decoupled and skipped for parameters
 * that do not decay (biases, norms, gammas, CLS and position tokens; common-vit.md §10).
 *
 * <p>The framework optimizers cannot be used: they break on scoped variable names and differentiate
 * every variable in the graph (notes/tf-java.md §10).
 *
 * <p>A target may carry its own learning rate and weight decay ({@link Target#lr}, {@link
 * Target#weightDecay}) in place of the run's schedules (MOCA's weight generators train at a constant
 * 1e-4); the layer-decay multiplier still applies to it.
 *
 * <p>Slots are variables named {@code optimizer/<param>.m} and {@code .v} (the parameter's path with
 * dots), so a checkpoint holds them next to the weights.
 */
public final class AdamW {
  /** Hyper-parameters; lr and weight decay are fed per step (schedules). */
  public record Hyper(float beta1, float beta2, float epsilon) {}

  /**
   * One parameter to update, with its gradient and multipliers.
   *
   * @param lr this parameter's own learning rate, replacing the run's (scheduled) one; null: the run's
   * @param weightDecay this parameter's own weight decay, replacing the run's; null: the run's
   */
  public record Target(Param param, Operand<TFloat32> gradient, float lrScale, boolean decay, Operand<TFloat32> lr,
      Operand<TFloat32> weightDecay) {
    /** A parameter that follows the run's learning rate and weight decay. */
    public Target(Param param, Operand<TFloat32> gradient, float lrScale, boolean decay) {
      this(param, gradient, lrScale, decay, null, null);
    }
  }

  private final List<Variable<TFloat32>> slots = new ArrayList<>();

  private AdamW() {}

  /**
   * Builds the update op for all targets.
   *
   * @param step the number of updates already applied (t − 1), int64 scalar
   * @param lr this step's learning rate (scalar)
   * @param weightDecay this step's weight decay (scalar)
   */
  public static Built build(Ops tf, Hyper h, List<Target> targets, Operand<TInt64> step, Operand<TFloat32> lr,
      Operand<TFloat32> weightDecay) {
    return build(tf, h, targets, step, lr, weightDecay, null);
  }

  /**
   * As {@link #build(Ops, Hyper, List, Operand, Operand, Operand)}; with {@code apply} non-null the
   * update is guarded: where {@code apply} is false every parameter and slot keeps its value (the step
   * is skipped exactly, as fp16 loss scaling needs on overflow). The guarded update is written as
   * element-wise ops instead of the fused kernel.
   */
  public static Built build(Ops tf, Hyper h, List<Target> targets, Operand<TInt64> step, Operand<TFloat32> lr,
      Operand<TFloat32> weightDecay, Operand<org.tensorflow.types.TBool> apply) {
    AdamW a = new AdamW();
    Ops o = tf.withSubScope("optimizer");
    Operand<TFloat32> t = tf.dtypes.cast(tf.math.add(step, tf.constant(1L)), TFloat32.class);
    Operand<TFloat32> b1p = tf.math.pow(tf.constant(h.beta1()), t);
    Operand<TFloat32> b2p = tf.math.pow(tf.constant(h.beta2()), t);
    Operand<TFloat32> epsHat = tf.math.mul(tf.constant(h.epsilon()), tf.math.sqrt(tf.math.sub(tf.constant(1f), b2p)));
    Operand<TFloat32> b1 = tf.constant(h.beta1());
    Operand<TFloat32> b2 = tf.constant(h.beta2());
    // No variable may change before every gradient is computed: the forward and backward passes read
    // the variables in place, and a decay or Adam write racing them would corrupt this step.
    List<org.tensorflow.Operation> gradOps = new ArrayList<>();
    for (Target target : targets) {
      gradOps.add(target.gradient().op());
    }
    Op gradsReady = o.withControlDependencyOps(gradOps).withName("gradients_ready").noOp();
    List<Op> updates = new ArrayList<>();
    for (Target target : targets) {
      Param p = target.param();
      // Flat names (optimizer/encoder.blocks.3.attn.qkv.kernel.m): a TF Java sub-scope per path
      // segment would scan the whole graph each time (NameScope.importIdsFrom), quadratic in its size.
      String flat = flatName(p.name());
      Ops scope = o;
      Variable<TFloat32> m = slot(scope, flat + ".m", p.shape());
      Variable<TFloat32> v = slot(scope, flat + ".v", p.shape());
      a.slots.add(m);
      a.slots.add(v);
      Operand<TFloat32> baseLr = target.lr() != null ? target.lr() : lr;
      Operand<TFloat32> wd = target.weightDecay() != null ? target.weightDecay() : weightDecay;
      Operand<TFloat32> plr = target.lrScale() == 1f ? baseLr : tf.math.mul(baseLr, tf.constant(target.lrScale()));
      Ops deps = scope.withControlDependencies(List.of(gradsReady));
      if (apply != null) {
        updates.add(guarded(deps, flat, p, m, v, target, plr, wd, b1, b2, b1p, b2p, h.epsilon(), apply));
        continue;
      }
      if (target.decay()) {
        // θ ← θ − lr·wd·θ, before the Adam step (which does not read θ).
        Op decay = deps.withName(flat + ".decay").assignSub(p.variable(),
            tf.math.mul(tf.math.mul(plr, wd), p.read()));
        deps = scope.withControlDependencies(List.of(decay));
      }
      updates.add(deps.withName(flat + ".apply_adam").train.applyAdam(p.variable(), m, v, b1p, b2p, plr, b1, b2, epsHat,
          target.gradient()));
    }
    return new Built(tf.withControlDependencies(updates).withName("apply_updates").noOp(), a.slots);
  }

  /** The AdamW step as element-wise ops, each assignment selecting the old value where !apply. */
  private static Op guarded(Ops tf, String flat, Param p, Variable<TFloat32> m, Variable<TFloat32> v, Target t,
      Operand<TFloat32> lr, Operand<TFloat32> wd, Operand<TFloat32> b1, Operand<TFloat32> b2, Operand<TFloat32> b1p,
      Operand<TFloat32> b2p, float eps, Operand<org.tensorflow.types.TBool> apply) {
    Operand<TFloat32> one = tf.constant(1f);
    Operand<TFloat32> g = t.gradient();
    Operand<TFloat32> mOld = tf.identity(m);
    Operand<TFloat32> vOld = tf.identity(v);
    Operand<TFloat32> mNew = tf.math.add(tf.math.mul(b1, mOld), tf.math.mul(tf.math.sub(one, b1), g));
    Operand<TFloat32> vNew = tf.math.add(tf.math.mul(b2, vOld), tf.math.mul(tf.math.sub(one, b2), tf.math.square(g)));
    Operand<TFloat32> mHat = tf.math.div(mNew, tf.math.sub(one, b1p));
    Operand<TFloat32> vHat = tf.math.div(vNew, tf.math.sub(one, b2p));
    Operand<TFloat32> theta = p.read();
    Operand<TFloat32> upd = tf.math.div(mHat, tf.math.add(tf.math.sqrt(vHat), tf.constant(eps)));
    Operand<TFloat32> decayed = t.decay() ? tf.math.mul(theta, tf.math.sub(one, tf.math.mul(lr, wd))) : theta;
    Operand<TFloat32> pNew = tf.math.sub(decayed, tf.math.mul(lr, upd));
    // Read everything before writing: the new values depend on the old ones.
    Ops w = tf.withControlDependencies(List.of(mNew, vNew, pNew));
    Op am = w.withName(flat + ".m_update").assign(m, w.select(apply, mNew, mOld));
    Op av = w.withName(flat + ".v_update").assign(v, w.select(apply, vNew, vOld));
    Op ap = w.withName(flat + ".apply_adam").assign(p.variable(), w.select(apply, pNew, theta));
    return tf.withControlDependencies(List.of(am, av, ap)).withName(flat + ".guarded").noOp();
  }

  /** A parameter name as one op-name segment: {@code encoder/blocks/3/x} → {@code encoder.blocks.3.x}. */
  public static String flatName(String name) {
    return name.replace('/', '.');
  }

  private static Variable<TFloat32> slot(Ops scope, String name, Shape shape) {
    Variable<TFloat32> s = scope.withName(name).variable(shape, TFloat32.class);
    scope.withInitScope().withName(name + "_init").assign(s,
        scope.withInitScope().fill(scope.withInitScope().constant(shape.asArray()), scope.withInitScope().constant(0f)));
    return s;
  }

  /** The update op and the slot variables it created. */
  public record Built(Op update, List<Variable<TFloat32>> slots) {}
}
