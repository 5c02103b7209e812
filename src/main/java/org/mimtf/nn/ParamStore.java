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
  private final Map<String, FixedHyper> fixedHyper = new LinkedHashMap<>();
  /** Rebinding view only: the parameters handed back in order, how to read them, and the cursor. */
  private final List<Param> replay;
  private final ReadFn rebindRead;
  private int cursor;

  public ParamStore(Initializers init) {
    this(init, null, null);
  }

  private ParamStore(Initializers init, List<Param> replay, ReadFn rebindRead) {
    this.init = init;
    this.replay = replay;
    this.rebindRead = rebindRead;
  }

  /**
   * Optimizer hyper-parameters that replace the run's schedules for some parameters (MOCA's weight
   * generators: constant learning rate 1e-4 and constant weight decay, whatever the schedules do).
   *
   * @param learningRate the constant learning rate
   * @param weightDecay the constant weight decay (applied only to parameters that decay)
   */
  public record FixedHyper(float learningRate, float weightDecay) {}

  /** How a rebinding view reads an existing parameter: {@code tf} is scoped like the layer asking for it. */
  @FunctionalInterface
  public interface ReadFn {
    Operand<TFloat32> read(Ops tf, String name, Param existing);
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
    if (replay != null) {
      return rebound(tf, name, shape, kind);
    }
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

  /**
   * A view of the parameters already created under {@code prefix} that creates no variable: building
   * the same network again through it (same builder, same configuration, any scope) hands back, in
   * creation order, those parameters with their {@code read} replaced by {@code read}. The layers it
   * builds are a second instance of the network over the same variables, e.g. one whose reads wait
   * for an update op through control dependencies (MOCA's teacher reads after the EMA update, in the
   * same session run). Each request is checked against the next parameter (relative name, shape,
   * kind); {@link #checkRebound} checks that the whole network was rebuilt.
   */
  public ParamStore rebind(String prefix, ReadFn read) {
    List<Param> ps = under(prefix);
    checkArgument(!ps.isEmpty(), "no parameters under %s to rebind", prefix);
    return new ParamStore(init, ps, read);
  }

  private Param rebound(Ops tf, String name, Shape shape, Param.Kind kind) {
    checkArgument(cursor < replay.size(), "rebinding: the network asks for more parameters than the %s created "
        + "(next: %s)", replay.size(), name);
    Param p = replay.get(cursor++);
    checkArgument(p.name().equals(name) || p.name().endsWith("/" + name), "rebinding: parameter %s requested where "
        + "%s was created (different network or configuration)", name, p.name());
    checkArgument(p.shape().equals(shape) && p.kind() == kind, "rebinding %s: shape %s/%s requested, created %s/%s",
        p.name(), shape, kind, p.shape(), p.kind());
    Param view = new Param(p.name(), p.variable(), rebindRead.read(tf, name, p), p.shape(), p.kind(), p.layerId(),
        p.trainable());
    params.add(view);
    byName.put(view.name(), view);
    return view;
  }

  /** Rebinding views: throws unless every parameter of the prefix was handed back. */
  public void checkRebound() {
    checkArgument(replay != null, "not a rebinding view");
    checkArgument(cursor == replay.size(), "rebinding: %s of %s parameters were requested", cursor, replay.size());
  }

  /**
   * Parameters under {@code prefix} (now or later) are updated with constant hyper-parameters instead
   * of the run's learning-rate and weight-decay schedules.
   */
  public void fixHyper(String prefix, float learningRate, float weightDecay) {
    checkArgument(learningRate >= 0 && weightDecay >= 0, "fixed lr (%s) and weight decay (%s) must be >= 0",
        learningRate, weightDecay);
    fixedHyper.put(prefix, new FixedHyper(learningRate, weightDecay));
  }

  /** The fixed hyper-parameters of {@code p}, or null when it follows the schedules. */
  public FixedHyper fixedHyper(Param p) {
    for (var e : fixedHyper.entrySet()) {
      if (p.name().startsWith(e.getKey())) {
        return e.getValue();
      }
    }
    return null;
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
