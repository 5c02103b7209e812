package org.mimtf.cluster;

import java.nio.file.Path;
import java.util.List;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.train.Checkpoints;
import org.mimtf.train.Devices;
import org.mimtf.train.RunTarget;
import org.mimtf.train.SessionConfigs;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.proto.ConfigProto;

/**
 * The chief's side of a cluster run: its own gRPC server (the master of every step), towers on every
 * task, the session on {@code grpc://localhost:<port>}. Build it with {@link #startChief}, hand it to
 * the trainer, and pass the trainer's failures through {@link #explain}.
 */
public final class ClusterRunTarget implements RunTarget {
  private final ClusterSpec spec;

  private ClusterRunTarget(ClusterSpec spec) {
    this.spec = spec;
  }

  /**
   * Starts the chief's server and waits (bounded) for every other task. The server lives until the
   * process ends (see {@link TaskServer}).
   */
  public static ClusterRunTarget startChief(ClusterSpec spec, TrainingConfig t, java.io.PrintStream log) {
    if (!spec.isChief()) {
      throw new IllegalArgumentException(spec.self() + " is not the chief");
    }
    TaskServer.start(spec, SessionConfigs.training(t));
    log.print(spec.describe());
    TaskServer.awaitTasks(spec, log);
    return new ClusterRunTarget(spec);
  }

  public ClusterSpec spec() {
    return spec;
  }

  @Override
  public List<String> towerDevices(TrainingConfig t) {
    return spec.towerDevices(Devices.towers(t.getDevices()));
  }

  @Override
  public Session open(Graph g, TrainingConfig t, List<String> towerDevices) {
    return ClusterSessions.open(g, spec.target(), sessionConfig(t));
  }

  /** The recipe's session settings plus the step timeout (a task that hangs fails the step). */
  ConfigProto sessionConfig(TrainingConfig t) {
    ConfigProto.Builder b = SessionConfigs.training(t).toBuilder();
    if (spec.stepTimeoutSeconds() > 0) {
      b.setOperationTimeoutInMs(spec.stepTimeoutSeconds() * 1000L);
    }
    return b.build();
  }

  /**
   * Turns a failure of a cluster run into a message naming the task that stopped answering and the
   * checkpoint a {@code --resume} continues from; other failures are returned unchanged.
   */
  public RuntimeException explain(RuntimeException e, Path runDir, int keepCheckpoints) {
    if (!(e instanceof TensorFlowException) && !(e.getCause() instanceof TensorFlowException)) {
      return e;
    }
    List<ClusterSpec.Task> gone = TaskServer.unreachable(spec, 1000);
    if (gone.isEmpty()) {
      return e;
    }
    String last = new Checkpoints(runDir.resolve("checkpoints"), keepCheckpoints).latest()
        .map(Path::toString).orElse("none yet");
    String first = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
    return new UserException("cluster task(s) " + gone + " stopped answering during training (TensorFlow: " + first
        + "); the last good checkpoint is " + last + ". Restart the task(s), then run the chief with --resume.", e);
  }
}
