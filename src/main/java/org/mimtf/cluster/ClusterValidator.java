package org.mimtf.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.mimtf.config.proto.ClusterConfig;

/**
 * Checks a cluster description ({@code training.cluster} or one read from {@code TF_CONFIG}) before any
 * server starts: known job names, at most one chief, every task a {@code host:port} used once, and this
 * process's job and index inside the cluster. Each problem names the field as written, e.g.
 * {@code training.cluster.task_index (3) is out of range: job "worker" has 2 tasks (0..1)}.
 */
public final class ClusterValidator {
  /** The jobs mimtf knows: the chief (graph, variables, update, one tower) and workers (one tower each). */
  static final Set<String> JOBS = Set.of(ClusterSpec.CHIEF, ClusterSpec.WORKER);

  private ClusterValidator() {}

  /**
   * Problems of {@code c}; empty when it is usable (an empty cluster, no jobs and no task, is valid: one
   * process). {@code field} is the path the messages use ({@code training.cluster}, {@code TF_CONFIG}).
   */
  public static List<String> validate(String field, ClusterConfig c) {
    boolean tfConfig = field.equals(TfConfig.ENV);
    List<String> problems = new ArrayList<>();
    if (c.getJobCount() == 0) {
      if (!c.getTaskType().isEmpty()) {
        problems.add(String.format("%s.task_type (\"%s\") names a job but %s has no job { } entries",
            field, c.getTaskType(), field));
      }
      return problems;
    }
    Map<String, Integer> tasksOfJob = new HashMap<>();
    Map<String, String> firstUse = new HashMap<>();
    for (int j = 0; j < c.getJobCount(); j++) {
      ClusterConfig.Job job = c.getJob(j);
      String jf = tfConfig ? field + " cluster." + job.getName() : field + ".job[" + j + "]";
      if (!JOBS.contains(job.getName())) {
        problems.add(String.format((tfConfig ? "%s" : "%s.name") + " (\"%s\") is not a job mimtf runs: expected \"chief\" or \"worker\" "
            + "(variables live on the chief, so there is no \"ps\" job)", jf, job.getName()));
      }
      if (tasksOfJob.put(job.getName(), job.getTasksCount()) != null) {
        problems.add(String.format((tfConfig ? "%s" : "%s.name") + " (\"%s\") appears twice: list all of a job's tasks in one job { }", jf,
            job.getName()));
      }
      if (job.getTasksCount() == 0) {
        problems.add(String.format((tfConfig ? "%s" : "%s.tasks") + " is empty: job \"%s\" needs at least one host:port", jf,
            job.getName()));
      }
      if (job.getName().equals(ClusterSpec.CHIEF) && job.getTasksCount() > 1) {
        problems.add(String.format((tfConfig ? "%s" : "%s.tasks") + " has %d entries: there is one chief", jf, job.getTasksCount()));
      }
      for (int t = 0; t < job.getTasksCount(); t++) {
        String tf = (tfConfig ? jf : jf + ".tasks") + "[" + t + "]";
        String addr = job.getTasks(t);
        String bad = addressProblem(addr);
        if (bad != null) {
          problems.add(String.format("%s (\"%s\") %s", tf, addr, bad));
          continue;
        }
        String prev = firstUse.putIfAbsent(normalizeHost(addr), tf);
        if (prev != null) {
          problems.add(String.format("%s (\"%s\") is the same host:port as %s: every task needs its own port",
              tf, addr, prev));
        }
      }
    }
    String type = c.getTaskType().isEmpty() ? ClusterSpec.chiefJob(c) : c.getTaskType();
    Integer n = tasksOfJob.get(type);
    if (n == null) {
      problems.add(String.format((tfConfig ? "%s task.type" : "%s.task_type") + " (\"%s\") is not a job of the cluster: expected one of %s", field,
          type, new ArrayList<>(tasksOfJob.keySet())));
    } else if (c.getTaskIndex() < 0 || c.getTaskIndex() >= n) {
      problems.add(String.format((tfConfig ? "%s task.index" : "%s.task_index") + " (%d) is out of range: job \"%s\" has %d task(s) (0..%d)", field,
          c.getTaskIndex(), type, n, n - 1));
    }
    if (c.getConnectTimeoutSeconds() <= 0) {
      problems.add(String.format("%s.connect_timeout_seconds (%d) must be > 0", field,
          c.getConnectTimeoutSeconds()));
    }
    if (c.getStepTimeoutSeconds() < 0) {
      problems.add(String.format("%s.step_timeout_seconds (%d) must be >= 0 (0: no limit)", field,
          c.getStepTimeoutSeconds()));
    }
    return problems;
  }

  /** Why {@code addr} is not a {@code host:port}, or null. */
  static String addressProblem(String addr) {
    int colon = addr.lastIndexOf(':');
    if (colon <= 0 || colon == addr.length() - 1) {
      return "is not host:port";
    }
    String port = addr.substring(colon + 1);
    if (!port.matches("\\d{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
      return "has no valid port (1..65535)";
    }
    if (addr.substring(0, colon).contains(" ")) {
      return "has a space in its host name";
    }
    return null;
  }

  /** localhost and 127.0.0.1 are the same machine: a port used by both is one port. */
  private static String normalizeHost(String addr) {
    int colon = addr.lastIndexOf(':');
    String host = addr.substring(0, colon).toLowerCase();
    if (host.equals("localhost") || host.equals("[::1]") || host.startsWith("127.")) {
      host = "loopback";
    }
    return host + ":" + addr.substring(colon + 1);
  }
}
