package org.mimtf.cli;

import java.util.concurrent.atomic.AtomicBoolean;
import org.mimtf.cluster.ClusterSpec;
import org.mimtf.cluster.TaskServer;
import org.mimtf.config.proto.Recipe;
import org.mimtf.train.SessionConfigs;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mimtf worker}: serves one non-chief task of a cluster run (TF's gRPC server) until stopped.
 * The chief ({@code mimtf pretrain} on the chief's task) places a tower here and drives every step;
 * this process runs what it is sent and holds no state of its own.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = {"Serve one worker task of a multi-process run (training.cluster or TF_CONFIG) until stopped "
        + "(SIGTERM / Ctrl-C, or stdin closing with --until-stdin-closes).",
        "Start one per worker task, then 'mimtf pretrain' on the chief's task."})
final class WorkerCommand implements Runnable {
  @Mixin RecipeOptions recipe;

  @Option(names = "--task", paramLabel = "N",
      description = "This process's index in job \"worker\" (default: from TF_CONFIG or training.cluster).")
  Integer task;

  @Option(names = "--job", paramLabel = "NAME", description = "This process's job (default \"worker\" with --task).")
  String job;

  @Option(names = "--until-stdin-closes",
      description = "Stop when standard input ends (for supervisors that hold a pipe to each task).")
  boolean untilStdinCloses;

  @Override
  public void run() {
    Recipe r = recipe.load();
    String jobName = job != null ? job : task != null ? ClusterSpec.WORKER : null;
    ClusterSpec spec = ClusterSpec.fromEnvironment(r.getTraining(), jobName, task)
        .orElseThrow(() -> new UserException("there is no cluster: set training.cluster in the recipe or the "
            + "TF_CONFIG environment variable"));
    if (spec.isChief()) {
      throw new UserException("task " + spec.self() + " is the chief: run 'mimtf pretrain' there, and "
          + "'mimtf worker --task N' on the workers");
    }
    serve(spec, r, untilStdinCloses);
  }

  /** Serves {@code spec}'s task; also what {@code mimtf pretrain} does on a non-chief task. */
  static void serve(ClusterSpec spec, Recipe r, boolean untilStdinCloses) {
    System.out.print(spec.describe());
    long t0 = System.nanoTime();
    AtomicBoolean done = new AtomicBoolean();
    // A supervisor usually ends a task with SIGTERM: the JSON line still closes the output.
    Thread hook = new Thread(() -> {
      if (done.compareAndSet(false, true)) {
        System.out.println(summary(spec, (System.nanoTime() - t0) / 1e9, "signal"));
        System.out.flush();
      }
    });
    Runtime.getRuntime().addShutdownHook(hook);
    double seconds = TaskServer.serve(spec, SessionConfigs.training(r.getTraining()),
        untilStdinCloses ? System.in : null, System.out);
    if (done.compareAndSet(false, true)) {
      System.out.println(summary(spec, seconds, "stdin closed"));
    }
  }

  private static Json.Obj summary(ClusterSpec spec, double seconds, String stoppedBy) {
    return Json.obj().put("task", "/job:" + spec.self().job() + "/task:" + spec.self().index())
        .put("address", spec.self().address()).put("served_seconds", seconds).put("stopped_by", stoppedBy);
  }
}
