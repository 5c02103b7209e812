package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;

/**
 * Where the arithmetic precision of the model is decided: matrix products run in the compute type
 * (fp32, bf16 or fp16) while everything else (softmax, LayerNorm, losses, EMA) stays fp32, which is
 * the mixed-precision recipe of Micikevicius et al. (2018) with fp32 master weights. Layers call
 * {@link #matMul} and {@link #batchMatMul} instead of the raw ops, so switching precision changes no
 * layer code.
 */
public final class Compute {
  /** Compute type of matrix products. */
  public enum Precision {
    FP32,
    BF16,
    FP16
  }

  private final Precision precision;
  private final boolean fusedLayerNorm;
  private final boolean fusedBiasGelu;
  private final boolean fp32BatchProducts;
  private final boolean oneDnnBatchProducts;

  public Compute(Precision precision) {
    this(precision, false, false, false, false);
  }

  private Compute(Precision precision, boolean fusedLayerNorm, boolean fusedBiasGelu, boolean fp32BatchProducts,
      boolean oneDnnBatchProducts) {
    this.precision = precision;
    this.fusedLayerNorm = fusedLayerNorm;
    this.fusedBiasGelu = fusedBiasGelu;
    this.fp32BatchProducts = fp32BatchProducts;
    this.oneDnnBatchProducts = oneDnnBatchProducts;
  }

  /**
   * The same precision with LayerNorm as one oneDNN kernel and a closed-form gradient ({@link
   * FusedLayerNorm}) where this TF build has it; for CPU training graphs (an export keeps the
   * composite ops, which every TensorFlow loads).
   */
  public Compute withFusedLayerNorm(boolean fused) {
    return new Compute(precision, fused && FusedLayerNorm.available(), fusedBiasGelu, fp32BatchProducts,
        oneDnnBatchProducts);
  }

  /**
   * The same with the MLP's bias + GELU as one kernel ({@link FusedBiasGelu}) where mimtf's native
   * library is loaded; for CPU training graphs (an export keeps the composite ops).
   */
  public Compute withFusedBiasGelu(boolean fused) {
    return new Compute(precision, fusedLayerNorm, fused && FusedBiasGelu.available(), fp32BatchProducts,
        oneDnnBatchProducts);
  }

  public boolean fusedBiasGelu() {
    return fusedBiasGelu;
  }

  /**
   * The same with the batched products ({@link #batchMatMul}: attention's q·kᵀ and p·v) kept in fp32
   * under bf16. Why: on CPU, TF 2.16 runs a bf16 {@code BatchMatMulV3} as per-matrix products and
   * slower than fp32 (cpu-m bf16 step profile: 95 ms of 924 ms op time, plus the casts around it);
   * keeping them fp32 made the bf16 step ~6 % faster (README, Benchmarks). fp32 is also the more
   * exact choice; the dense products, where bf16 pays, stay bf16. For CPU graphs ({@code
   * Devices.compute}); GPUs run bf16 batched products on their tensor cores.
   */
  public Compute withFp32BatchProducts(boolean fp32) {
    return new Compute(precision, fusedLayerNorm, fusedBiasGelu, fp32, oneDnnBatchProducts);
  }

  /**
   * The same with the fp32 batched products as oneDNN's kernel, forward and backward ({@link
   * OneDnnBatchMatMul}), where this TF build has it and oneDNN is on; for CPU training graphs.
   */
  public Compute withOneDnnBatchProducts(boolean oneDnn) {
    return new Compute(precision, fusedLayerNorm, fusedBiasGelu, fp32BatchProducts,
        oneDnn && OneDnnBatchMatMul.available());
  }

  public boolean oneDnnBatchProducts() {
    return oneDnnBatchProducts;
  }

  public boolean fp32BatchProducts() {
    return fp32BatchProducts;
  }

  public boolean fusedLayerNorm() {
    return fusedLayerNorm;
  }

  /**
   * Whether a block's residual step and the LayerNorm after it run as one kernel ({@link
   * FusedResidualLayerNorm}): with the fused LayerNorm, where mimtf's native library is loaded.
   */
  public boolean fusedResidual() {
    return fusedLayerNorm && FusedLayerNorm.kernel() == FusedLayerNorm.Kernel.NATIVE;
  }

  /** {@code (x − μ)/√(σ² + ε)·γ + β} over the last axis; fused for 2-D rows when enabled. */
  public Operand<TFloat32> layerNorm(Ops tf, Operand<TFloat32> x, Operand<TFloat32> gamma, Operand<TFloat32> beta,
      float eps) {
    if (fusedLayerNorm && x.shape().numDimensions() == 2) {
      return FusedLayerNorm.apply(tf, x, gamma, beta, eps);
    }
    return tf.math.add(tf.math.mul(LayerNorm.normalize(tf, x, eps), gamma), beta);
  }

  public static Compute fp32() {
    return new Compute(Precision.FP32);
  }

  public Precision precision() {
    return precision;
  }

  /** {@code a @ b} for 2-D operands, optionally transposing either. */
  public Operand<TFloat32> matMul(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b, boolean transA, boolean transB) {
    MatMul.Options[] o = {MatMul.transposeA(transA), MatMul.transposeB(transB)};
    return switch (precision) {
      case FP32 -> tf.linalg.matMul(a, b, o);
      case BF16 -> tf.dtypes.cast(tf.linalg.matMul(tf.dtypes.cast(a, TBfloat16.class),
          tf.dtypes.cast(b, TBfloat16.class), o), TFloat32.class);
      case FP16 -> tf.dtypes.cast(tf.linalg.matMul(tf.dtypes.cast(a, TFloat16.class),
          tf.dtypes.cast(b, TFloat16.class), o), TFloat32.class);
    };
  }

  public Operand<TFloat32> matMul(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b) {
    return matMul(tf, a, b, false, false);
  }

  private static String einsumEquation(boolean adjA, boolean adjB) {
    String left = adjA ? "...ji" : "...ij";
    String right = adjB ? "...kj" : "...jk";
    return left + "," + right + "->...ik";
  }

  private Operand<TFloat32> fp32Product(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b, boolean adjA, boolean adjB) {
    if (oneDnnBatchProducts && sameBatch(a, b)) {
      return OneDnnBatchMatMul.apply(tf, a, b, adjA, adjB);
    }
    return tf.train.batchMatMul(a, b, TFloat32.class, BatchMatMul.adjX(adjA), BatchMatMul.adjY(adjB));
  }

  /** Whether a and b have the same leading (batch) dimensions: OneDnnBatchMatMul's gradient does not broadcast. */
  private static boolean sameBatch(Operand<TFloat32> a, Operand<TFloat32> b) {
    int n = a.shape().numDimensions();
    if (n < 3 || n != b.shape().numDimensions()) {
      return false;
    }
    for (int i = 0; i < n - 2; i++) {
      long x = a.shape().get(i);
      long y = b.shape().get(i);
      if (x != y && x >= 0 && y >= 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Batched {@code a @ b} over leading dimensions (BatchMatMulV3, or oneDNN's kernel where {@link
   * #oneDnnBatchProducts()}; the fp32 ones), optionally adjoint.
   */
  public Operand<TFloat32> batchMatMul(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b, boolean adjA, boolean adjB) {
    BatchMatMul.Options[] o = {BatchMatMul.adjX(adjA), BatchMatMul.adjY(adjB)};
    return switch (precision) {
      case FP32 -> fp32Product(tf, a, b, adjA, adjB);
      case BF16 -> fp32BatchProducts ? fp32Product(tf, a, b, adjA, adjB)
          : tf.dtypes.cast(tf.train.batchMatMul(tf.dtypes.cast(a, TBfloat16.class),
              tf.dtypes.cast(b, TBfloat16.class), TBfloat16.class, o), TFloat32.class);
      // BatchMatMulV3 has no fp16 CPU kernel in TF 2.16; Einsum (BatchMatMulV2 underneath) has, on
      // CPU and GPU alike.
      case FP16 -> tf.dtypes.cast(tf.linalg.einsum(java.util.List.of(tf.dtypes.cast(a, TFloat16.class),
          tf.dtypes.cast(b, TFloat16.class)), einsumEquation(adjA, adjB)), TFloat32.class);
    };
  }
}
