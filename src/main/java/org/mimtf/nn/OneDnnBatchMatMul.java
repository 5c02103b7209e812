package org.mimtf.nn;

import com.google.common.base.Supplier;
import com.google.common.base.Suppliers;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.TensorFlow;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Attention's batched products as oneDNN's {@code _MklBatchMatMulV2}, forward and backward.
 *
 * <p>Why: TF Java's {@code BatchMatMul} is {@code BatchMatMulV3}, which TF 2.16's oneDNN layout pass
 * leaves to Eigen's per-matrix kernel; the step profile showed it at 6 % of cpu-m's op time. A
 * {@code BatchMatMulV2} node is rewritten to oneDNN's kernel (forward 24 → 13 ms per cpu-m step), but
 * its registered gradient emits {@code BatchMatMulV3} again. So the node is created as the oneDNN op
 * itself (with the {@code _kernel} label the layout pass would give it), whose type has no gradient
 * in TF's registry, and its gradient, registered here, is two more of them:
 * for C = A·B, dA = dC·Bᵀ and dB = Aᵀ·dC; for C = A·Bᵀ, dA = dC·B and dB = dCᵀ·A (operands of equal
 * batch shape, no broadcasting). CPU training graphs with oneDNN only ({@link Compute}); exports keep
 * TF's portable op.
 */
public final class OneDnnBatchMatMul {
  static final String OP = "_MklBatchMatMulV2";
  private static final AtomicBoolean REGISTERED = new AtomicBoolean();

  private OneDnnBatchMatMul() {}

  /** Whether this TensorFlow build has the op and oneDNN is on. */
  public static boolean available() {
    return !"0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS")) && AVAILABLE.get();
  }

  private static final Supplier<Boolean> AVAILABLE = Suppliers.memoize(
      () -> TensorFlow.registeredOpList().getOpList().stream().anyMatch(o -> o.getName().equals(OP)));

  /** {@code a @ b} over leading dimensions of equal size; {@code adjB} transposes b's last two axes. */
  public static Operand<TFloat32> apply(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b, boolean adjA, boolean adjB) {
    registerGradient();
    return product(tf, a, b, adjA, adjB);
  }

  private static Operand<TFloat32> product(Ops tf, Operand<?> a, Operand<?> b, boolean adjA, boolean adjB) {
    GraphOperation op = (GraphOperation) tf.scope().opBuilder(OP, "BatchMatMul").addInput(a.asOutput())
        .addInput(b.asOutput()).setAttr("adj_x", adjA).setAttr("adj_y", adjB)
        .setAttr("_kernel", "MklNameChangeOp").build();
    return op.output(0);
  }

  static void registerGradient() {
    if (REGISTERED.getAndSet(true)) {
      return;
    }
    boolean ours = TensorFlow.registerCustomGradient(OP, (tf, op, dys) -> {
      Operand<?> a = op.input(0);
      Operand<?> b = op.input(1);
      Operand<?> dc = dys.get(0);
      boolean adjA = op.attributes().getAttrBool("adj_x");
      boolean adjB = op.attributes().getAttrBool("adj_y");
      Operand<TFloat32> da;
      Operand<TFloat32> db;
      if (!adjA && !adjB) {
        da = product(tf, dc, b, false, true);
        db = product(tf, a, dc, true, false);
      } else if (!adjA) {
        da = product(tf, dc, b, false, false);
        db = product(tf, dc, a, true, false);
      } else if (!adjB) {
        da = product(tf, b, dc, false, true);
        db = product(tf, a, dc, false, false);
      } else {
        da = product(tf, b, dc, true, true);
        db = product(tf, dc, a, true, true);
      }
      return List.of(da, db);
    });
    if (!ours) {
      throw new IllegalStateException(OP + " already has a gradient; the one registered here was not installed");
    }
  }
}
