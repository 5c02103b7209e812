package org.mimtf.nn;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The parameters of the networks in one graph, in creation order. Layers create their variables
 * here, which gives the optimizer its variable list and weight-decay groups, EMA copies their
 * source/target pairs, and exports their variable names, without any of them walking the graph.
 */
public final class ParamStore {
  private final Initializers init;
  private final List<Param> params = new ArrayList<>();
  private final Map<String, Param> byName = new LinkedHashMap<>();
  private final Map<String, String> seedAliases = new LinkedHashMap<>();
  private final List<String> frozenPrefixes = new ArrayList<>();

  public ParamStore(Initializers init) {
    this.init = init;
  }

  public Initializers init() {
    return init;
  }

  /**
   * Creates variable {@code name} in the scope of {@code tf}; {@code initial} builds its initial value
   * (in the initializer scope) and receives the variable's full name, for per-parameter seeds.
   */
  public Param create(Ops tf, String name, Shape shape, Param.Kind kind, int layerId, boolean trainable,
      InitFn initial) {
    // The variable's op name is its checkpoint key: it must come out exactly as scoped, never
    // silently uniquified. Its initial value is seeded by that full name and registered as an
    // initializer (run once by the session, skipped when a checkpoint is restored).
    Variable<TFloat32> v = tf.withName(name).variable(shape, TFloat32.class);
    String fullName = v.op().name();
    checkArgument(fullName.equals(name) || fullName.endsWith("/" + name),
        "parameter %s was uniquified to %s: two layers share a scope", name, fullName);
    Ops initOps = tf.withInitScope();
    initOps.withName(name + "_init").assign(v, initial.build(initOps, seedName(fullName), shape));
    Operand<TFloat32> read = tf.withName(name + "_read").identity(v);
    boolean train = trainable && frozenPrefixes.stream().noneMatch(fullName::startsWith);
    Param p = new Param(fullName, v, read, shape, kind, layerId, train);
    params.add(p);
    byName.put(fullName, p);
    return p;
  }

  /** Builds a parameter's initial value with init-scoped ops; {@code name} seeds random inits. */
  @FunctionalInterface
  public interface InitFn {
    Operand<TFloat32> build(Ops tf, String name, Shape shape);
  }

  /**
   * Makes parameters under {@code prefix} draw their random initial values as if they were under
   * {@code alias}: a momentum or EMA copy ({@code momentum/encoder/...}) then starts as an exact copy
   * of its online network ({@code encoder/...}), as ConMIM and MOCA require, with no copy op.
   */
  public void aliasSeeds(String prefix, String alias) {
    seedAliases.put(prefix, alias);
  }

  /**
   * Parameters created later under {@code prefix} are not trained (EMA teachers, momentum encoders,
   * frozen tokenizers): the optimizer skips them and no gradient is asked for.
   */
  public void freeze(String prefix) {
    frozenPrefixes.add(prefix);
  }

  private String seedName(String fullName) {
    for (var e : seedAliases.entrySet()) {
      if (fullName.startsWith(e.getKey())) {
        return e.getValue() + fullName.substring(e.getKey().length());
      }
    }
    return fullName;
  }

  /** All parameters, in creation order. */
  public ImmutableList<Param> all() {
    return ImmutableList.copyOf(params);
  }

  /** Parameters the optimizer updates. */
  public ImmutableList<Param> trainable() {
    return params.stream().filter(Param::trainable).collect(ImmutableList.toImmutableList());
  }

  /** Parameters whose name starts with {@code prefix} (e.g. {@code "encoder/"}). */
  public ImmutableList<Param> under(String prefix) {
    return params.stream().filter(p -> p.name().startsWith(prefix)).collect(ImmutableList.toImmutableList());
  }

  public Param get(String name) {
    Param p = byName.get(name);
    checkArgument(p != null, "no parameter named %s", name);
    return p;
  }

  /** Total number of trainable scalars. */
  public long trainableCount() {
    return params.stream().filter(Param::trainable).mapToLong(Param::size).sum();
  }
}
