package org.mimtf.stages;

import java.io.PrintStream;
import java.nio.file.Path;
import org.mimtf.api.MimMethod;
import org.mimtf.config.proto.Recipe;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.train.Trainer;

/**
 * One pre-training stage end to end: the recipe's method (its earlier stages' artifacts must exist),
 * a fresh run, and the run's exports. The commands and benchmarks that chain stages (quickstart, the
 * quality bench, a teacher made from a small recipe) compose it.
 */
public final class Pretraining {
  /** What the stage produced. */
  public record Result(MimMethod method, Trainer.Summary summary, Path export) {}

  private Pretraining() {}

  public static Result run(Recipe r, PrintStream out) {
    MimMethod m = MethodRegistry.create(r);
    Trainer.Summary s = new Trainer(r, m, false, out).run();
    Path export = MethodRegistry.exportRun(r, m.encoder(), s.lastCheckpoint(), out);
    return new Result(m, s, export);
  }
}
