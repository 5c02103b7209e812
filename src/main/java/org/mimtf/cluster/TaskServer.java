package org.mimtf.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.util.UserException;
import org.tensorflow.Server;
import org.tensorflow.proto.ConfigProto;

/**
 * The gRPC server of this process's task ({@link org.tensorflow.Server} from the cluster's
 * {@code ServerDef}), and the chief's wait for the other tasks.
 *
 * <p>TF 2.16's gRPC server cannot be stopped once started ({@code Server.stop()} answers "Clean
 * shutdown is not currently implemented"): it lives as long as its process, so a task ends by ending
 * the process (SIGTERM, or stdin closing when served with {@code --until-stdin-closes}).
 */
public final class TaskServer {
  /** Servers started by this process: referenced until it ends, as they cannot be stopped. */
  private static final List<Server> LIVE = new ArrayList<>();

  private TaskServer() {}

  /** Starts this process's server; a port that cannot be bound is the user's problem, named. */
  public static Server start(ClusterSpec spec, ConfigProto sessionConfig) {
    // mimtf's own CPU kernels must be registered in every task that may run a tower's ops (the
    // chief's graph names them; a task without them answers "Op type not registered")
    org.mimtf.nn.NativeOps.available();
    Server server;
    try {
      server = new Server(spec.serverDef(sessionConfig));
      server.start();
      synchronized (LIVE) {
        LIVE.add(server);
      }
    } catch (RuntimeException e) {
      throw new UserException("cannot start the gRPC server of task " + spec.self() + ": " + e.getMessage()
          + " (is the port in use by another process?)", e);
    }
    return server;
  }

  /** Whether something accepts TCP connections at the task's address within {@code timeoutMs}. */
  static boolean reachable(ClusterSpec.Task t, int timeoutMs) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(t.host(), t.port()), timeoutMs);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The tasks (other than this one) that do not answer now. */
  public static List<ClusterSpec.Task> unreachable(ClusterSpec spec, int timeoutMs) {
    List<ClusterSpec.Task> out = new ArrayList<>();
    for (ClusterSpec.Task t : spec.tasks()) {
      if (!t.equals(spec.self()) && !reachable(t, timeoutMs)) {
        out.add(t);
      }
    }
    return out;
  }

  /**
   * Waits until every other task's server answers, for at most the cluster's
   * {@code connect_timeout_seconds}; then fails naming the tasks that never did. TF's own session
   * would instead wait for them forever.
   */
  public static void awaitTasks(ClusterSpec spec, PrintStream log) {
    long deadline = System.nanoTime() + spec.connectTimeoutSeconds() * 1_000_000_000L;
    long nextNote = System.nanoTime() + 5_000_000_000L;
    while (true) {
      List<ClusterSpec.Task> missing = unreachable(spec, 500);
      if (missing.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new UserException("task(s) " + missing + " did not answer within " + spec.connectTimeoutSeconds()
            + " s (training.cluster.connect_timeout_seconds): start 'mimtf worker' there, or check the host:port");
      }
      if (System.nanoTime() > nextNote) {
        log.println("waiting for task(s) " + missing);
        nextNote = System.nanoTime() + 10_000_000_000L;
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new UserException("interrupted while waiting for " + missing);
      }
    }
  }

  /**
   * Serves this task: starts its server, then blocks until {@code stdin} ends (when given) or the
   * process is stopped. Returns the seconds it served.
   */
  public static double serve(ClusterSpec spec, ConfigProto sessionConfig, InputStream stdin, PrintStream out) {
    long t0 = System.nanoTime();
    Server server = start(spec, sessionConfig);
    out.println("task " + spec.self() + " serving; chief is " + spec.chief());
    out.flush();
    try {
      if (stdin != null) {
        byte[] buf = new byte[256];
        while (stdin.read(buf) >= 0) {
          // the chief's steps run on the server's threads; this thread only waits for the end
        }
      } else {
        server.join();
      }
    } catch (IOException e) {
      // stdin broke: the supervisor is gone, stop serving
    }
    return (System.nanoTime() - t0) / 1e9;
  }
}
