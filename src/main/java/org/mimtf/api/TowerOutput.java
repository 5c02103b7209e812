package org.mimtf.api;

import com.google.common.collect.ImmutableMap;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * What one tower computed.
 *
 * @param loss the total loss to minimise (scalar); null only in the forward half of a method that
 *     couples its towers ({@link MimMethod#couplesTowers}), whose {@code joinTowers} supplies it
 * @param lossTerms each term of the loss by name (scalar each), logged and checked for NaN/Inf
 * @param metrics other scalars to log (accuracies, momentum, codebook usage)
 * @param images images [B, H, W, C] in [0, 1] to write to TensorBoard now and then (inputs, masks,
 *     reconstructions), by name
 * @param state anything later stages of the method need from this tower (e.g. teacher features for
 *     a queue update), by name
 */
public record TowerOutput(
    Operand<TFloat32> loss,
    ImmutableMap<String, Operand<TFloat32>> lossTerms,
    ImmutableMap<String, Operand<TFloat32>> metrics,
    ImmutableMap<String, Operand<TFloat32>> images,
    ImmutableMap<String, Operand<?>> state) {

  public static Builder builder(Operand<TFloat32> loss) {
    return new Builder(loss);
  }

  /** Assembles a tower output. */
  public static final class Builder {
    private final Operand<TFloat32> loss;
    private final ImmutableMap.Builder<String, Operand<TFloat32>> terms = ImmutableMap.builder();
    private final ImmutableMap.Builder<String, Operand<TFloat32>> metrics = ImmutableMap.builder();
    private final ImmutableMap.Builder<String, Operand<TFloat32>> images = ImmutableMap.builder();
    private final ImmutableMap.Builder<String, Operand<?>> state = ImmutableMap.builder();

    private Builder(Operand<TFloat32> loss) {
      this.loss = loss;
    }

    public Builder term(String name, Operand<TFloat32> value) {
      terms.put(name, value);
      return this;
    }

    public Builder metric(String name, Operand<TFloat32> value) {
      metrics.put(name, value);
      return this;
    }

    public Builder image(String name, Operand<TFloat32> value) {
      images.put(name, value);
      return this;
    }

    public Builder state(String name, Operand<?> value) {
      state.put(name, value);
      return this;
    }

    public Builder metrics(Map<String, Operand<TFloat32>> m) {
      metrics.putAll(m);
      return this;
    }

    public TowerOutput build() {
      return new TowerOutput(loss, terms.buildOrThrow(), metrics.buildOrThrow(), images.buildOrThrow(),
          state.buildOrThrow());
    }
  }
}
