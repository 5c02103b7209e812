package org.mimtf.cluster;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

  /** Seconds a task may stay unreachable during training before the watchdog stops the chief. */
  static final int WATCHDOG_SECONDS = 6;

  private final java.util.concurrent.atomic.AtomicBoolean training = new java.util.concurrent.atomic.AtomicBoolean();
  private Path runDir;
  private int keepCheckpoints;

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
    ClusterRunTarget target = new ClusterRunTarget(spec);
    target.runDir = Path.of(t.getRunDir());
    target.keepCheckpoints = t.getKeepCheckpoints();
    return target;
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
    Session s = ClusterSessions.open(g, spec.target(), sessionConfig(t));
    startWatchdog();
    return s;
  }

  /** Ends the watchdog: training is over (the export that follows runs in this process alone). */
  public void trainingDone() {
    training.set(false);
  }

  /**
   * A step whose worker died can wait for it instead of failing: TF's master retries a lost worker
   * unless {@code GRPC_FAIL_FAST=true} is in the environment (the launcher sets it). So while training,
   * a daemon thread checks every second that every task still accepts connections; one that stays
   * unreachable for {@value #WATCHDOG_SECONDS} s ends the process with exit code 2 and the message of
   * {@link #explain}. Checkpoints are written atomically, so the last complete one is kept.
   */
  private void startWatchdog() {
    if (!training.compareAndSet(false, true)) {
      return;
    }
    Thread w = new Thread(() -> {
      Map<ClusterSpec.Task, Long> since = new java.util.HashMap<>();
      while (training.get()) {
        long now = System.nanoTime();
        List<ClusterSpec.Task> gone = TaskServer.unreachable(spec, 1000);
        since.keySet().retainAll(gone);
        for (ClusterSpec.Task t : gone) {
          since.putIfAbsent(t, now);
        }
        boolean dead = since.values().stream().anyMatch(t0 -> now - t0 > WATCHDOG_SECONDS * 1_000_000_000L);
        if (dead && training.get()) {
          System.out.flush();
          System.err.println("mimtf: " + message(gone, "no answer for " + WATCHDOG_SECONDS + " s"));
          System.err.flush();
          Runtime.getRuntime().halt(2);
        }
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "mimtf-cluster-watchdog");
    w.setDaemon(true);
    w.start();
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
  public RuntimeException explain(RuntimeException e) {
    if (!(e instanceof TensorFlowException) && !(e.getCause() instanceof TensorFlowException)) {
      return e;
    }
    List<ClusterSpec.Task> gone = TaskServer.unreachable(spec, 1000);
    if (gone.isEmpty()) {
      return e;
    }
    // TF's message starts "From /job:...:" on its own line; the cause (e.g. "Connection reset by peer") follows.
    String first = e.getMessage() == null ? e.toString()
        : String.join(" ", e.getMessage().lines().map(String::trim).filter(l -> !l.isEmpty()).limit(2).toList());
    trainingDone();
    return new UserException(message(gone, "TensorFlow: " + first), e);
  }

  private String message(List<ClusterSpec.Task> gone, String detail) {
    String last = new Checkpoints(runDir.resolve("checkpoints"), keepCheckpoints).latest()
        .map(Path::toString).orElse("none yet");
    return "cluster task(s) " + gone + " stopped answering during training (" + detail + "); the last good "
        + "checkpoint is " + last + ". Restart the task(s), then run the chief with --resume.";
  }
}
