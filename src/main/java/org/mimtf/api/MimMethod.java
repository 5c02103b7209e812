package org.mimtf.api;

/**
 * A masked-image-modeling method: what is its own (corruptions it asks the pipeline for, heads,
 * targets, losses, per-step updates) and nothing else. It is a {@link TrainingTask} whose product is
 * a pre-trained encoder. Each method's {@link MethodSpec} (its recipe rules, stages, artifacts)
 * creates it.
 */
public interface MimMethod extends TrainingTask {
  /** The pre-trained encoder to export: its variable scope in this graph and how to rebuild it. */
  EncoderSpec encoder();
}
