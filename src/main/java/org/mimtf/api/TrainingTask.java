package org.mimtf.api;

import java.util.List;
import java.util.Map;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.nn.Compute;
import org.mimtf.nn.ParamStore;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;

/**
 * What the {@code train.Trainer} trains: a graph of variables, one tower's forward pass and losses,
 * the per-step updates and the fields it needs in the batch. The trainer owns the session, optimizer,
 * schedules, checkpoints and logging for every task alike and knows nothing else about it: a
 * pre-training method ({@link MimMethod}) is one kind of task, a classifier being fine-tuned another.
 *
 * <p>Building happens in two phases so that the same method runs on several devices: variables are
 * created once ({@link #create}), then {@link #tower} builds forward pass and losses from one tower's
 * slice of the batch (called once per device, sharing the variables).
 */
public interface TrainingTask {
  /** Short name, e.g. "ccvit" (logged). */
  String name();

  /** Per-example pipeline stages the method needs beyond the recipe's views and masks. */
  default List<SampleStage> extraStages() {
    return List.of();
  }

  /**
   * Fields computed per batch by frozen models loaded beside the session (teachers, tokenizers);
   * the trainer reserves them in the pipeline and fills them before each step, and closes them.
   */
  default List<BatchModel> batchModels() {
    return List.of();
  }

  /** Creates every variable of the method (encoder, heads, EMA copies, state) in {@code params}. */
  void create(Ops tf, ParamStore params);

  /**
   * Builds the ops every tower shares and that must run once per step, before the towers' forward
   * passes (MOCA: the EMA teacher update and reads gated on it, weight generators over the codebook).
   * Called once per graph, after {@link #create} and before the first {@link #tower}, with an
   * unscoped {@code tf}: these ops belong to no tower (with several devices they are not placed on a
   * tower's device) and run once per session run however many towers read them. Must not create
   * trainable variables (state variables are fine).
   */
  default void beforeTowers(Ops tf, Compute compute, StepInputs step) {}

  /** Builds one tower: forward pass, losses and metrics from {@code in}. */
  TowerOutput tower(Ops tf, Compute compute, TowerInputs in);

  /**
   * Whether one tower's loss depends on the other towers' examples — BatchNorm statistics over the
   * GLOBAL batch (ConMIM's projector). Such a method splits its graph in two: {@link #tower} builds
   * each tower's part that needs nothing from the others (the encoders; its {@code loss} may be null)
   * and {@link #joinTowers} finishes every tower once all exist (sums of per-tower moments, losses).
   * The trainer then differentiates the mean of the joined towers' losses in ONE gradient computation
   * (so the cross-tower terms of the gradient are exact) and places each gradient op on the device
   * of the tower ops it reads. Methods whose towers are independent keep the default (false): each
   * tower is differentiated on its own and the gradients are averaged.
   */
  default boolean couplesTowers() {
    return false;
  }

  /**
   * Finishes coupled towers (see {@link #couplesTowers}), called once after {@link #tower} ran for
   * every tower.
   *
   * @param global ops for the few cross-tower values (placed by TensorFlow, the variables' device)
   * @param towers tower i's ops ({@code towers.get(i)} places on tower i's device)
   * @param forward what {@link #tower} returned for each tower
   * @return each tower's final output, losses included; the trainer averages losses and metrics
   */
  default List<TowerOutput> joinTowers(Ops global, List<Ops> towers, Compute compute, StepInputs step,
      List<TowerOutput> forward) {
    return forward;
  }

  /**
   * Ops to run once per step after the optimizer update (EMA copies, codebooks, queues), or before it
   * where a method says so; they see every tower's outputs.
   */
  default List<Op> afterUpdate(Ops tf, StepInputs step, List<TowerOutput> towers) {
    return List.of();
  }

  /**
   * An op run once, fed with the first batch, before the first step of a fresh run (not on resume):
   * data-dependent initialisation such as VQ-KD's k-means codebook init. Null when none.
   */
  default Op warmStart(Ops tf, Compute compute, TowerInputs in) {
    return null;
  }

  /** Scalars the trainer feeds every step under these names (e.g. {@code teacher_momentum}). */
  default Map<String, Schedule> scalarSchedules(long totalSteps) {
    return Map.of();
  }
}
