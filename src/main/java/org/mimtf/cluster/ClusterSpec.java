package org.mimtf.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.mimtf.config.proto.ClusterConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.util.UserException;
import org.tensorflow.proto.ClusterDef;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.JobDef;
import org.tensorflow.proto.ServerDef;

/**
 * The resolved, validated cluster of one run and this process's place in it: from {@code TF_CONFIG}
 * when that is set, else from {@code training.cluster}, then {@code --task}. Immutable.
 *
 * <p>Roles: the <b>chief</b> is task 0 of job {@code chief}, or task 0 of job {@code worker} when there
 * is no chief job (as in TF's MultiWorkerMirroredStrategy). It builds the graph, keeps the variables
 * and the update (ops without a device land on the session's own task) and drives the steps. Every
 * task, the chief included, computes one tower per device; the chief's session runs on the whole
 * cluster through its own gRPC server.
 */
public final class ClusterSpec {
  public static final String CHIEF = "chief";
  public static final String WORKER = "worker";

  /** One task: its job, index and {@code host:port}. */
  public record Task(String job, int index, String address) {
    /** TF's full name of the task, the prefix of its device names. */
    public String deviceScope() {
      return "/job:" + job + "/replica:0/task:" + index;
    }

    /** Short name for messages: {@code /job:worker/task:1 (10.0.0.2:2222)}. */
    @Override
    public String toString() {
      return "/job:" + job + "/task:" + index + " (" + address + ")";
    }

    int port() {
      return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    String host() {
      return address.substring(0, address.lastIndexOf(':'));
    }
  }

  private final ClusterConfig config;
  private final String source;

  private ClusterSpec(ClusterConfig config, String source) {
    this.config = config;
    this.source = source;
  }

  /**
   * The cluster of a run: {@code tfConfig} (the {@code TF_CONFIG} value; null or blank: unset) wins over
   * {@code training.cluster}; {@code taskType} / {@code taskIndex} (the command line; null: unset) win
   * over both. Empty when there is no cluster (one process). Throws {@link UserException} naming the
   * field of every problem.
   */
  public static Optional<ClusterSpec> resolve(TrainingConfig t, String tfConfig, String taskType,
      Integer taskIndex) {
    ClusterConfig c;
    String source;
    if (tfConfig != null && !tfConfig.isBlank()) {
      c = TfConfig.parse(tfConfig, t.getCluster());
      source = TfConfig.ENV;
    } else if (t.getCluster().getJobCount() > 0) {
      c = t.getCluster();
      source = "training.cluster";
    } else {
      if (taskType != null || taskIndex != null) {
        throw new UserException("--task/--job: there is no cluster: set training.cluster or TF_CONFIG");
      }
      return Optional.empty();
    }
    ClusterConfig.Builder b = c.toBuilder();
    if (taskType != null) {
      b.setTaskType(taskType);
    }
    if (taskIndex != null) {
      b.setTaskIndex(taskIndex);
    }
    if (b.getTaskType().isEmpty()) {
      b.setTaskType(chiefJob(b.build()));
    }
    c = b.build();
    List<String> problems = ClusterValidator.validate(source.equals(TfConfig.ENV) ? "TF_CONFIG" : source, c);
    if (problems.size() == 1) {
      throw new UserException(source + ": " + problems.get(0));
    } else if (!problems.isEmpty()) {
      throw new UserException(source + ": " + problems.size() + " problems\n  - " + String.join("\n  - ", problems));
    }
    return Optional.of(new ClusterSpec(c, source));
  }

  /** The run's cluster from the process environment ({@code TF_CONFIG}) and the recipe. */
  public static Optional<ClusterSpec> fromEnvironment(TrainingConfig t, String taskType, Integer taskIndex) {
    return resolve(t, System.getenv(TfConfig.ENV), taskType, taskIndex);
  }

  /** The chief's job: {@code chief} when the cluster has one, else {@code worker}. */
  static String chiefJob(ClusterConfig c) {
    for (ClusterConfig.Job j : c.getJobList()) {
      if (j.getName().equals(CHIEF)) {
        return CHIEF;
      }
    }
    return WORKER;
  }

  /** Where the cluster came from: {@code training.cluster} or {@code TF_CONFIG}. */
  public String source() {
    return source;
  }

  public ClusterConfig config() {
    return config;
  }

  /** Every task, the chief first, then the workers in index order: the order of the towers. */
  public List<Task> tasks() {
    List<Task> out = new ArrayList<>();
    String chief = chiefJob(config);
    for (String name : List.of(chief, chief.equals(CHIEF) ? WORKER : "")) {
      for (ClusterConfig.Job j : config.getJobList()) {
        if (j.getName().equals(name)) {
          for (int i = 0; i < j.getTasksCount(); i++) {
            out.add(new Task(name, i, j.getTasks(i)));
          }
        }
      }
    }
    return out;
  }

  /** This process's task. */
  public Task self() {
    return task(config.getTaskType(), config.getTaskIndex());
  }

  /** The chief's task. */
  public Task chief() {
    return tasks().get(0);
  }

  public boolean isChief() {
    return self().equals(chief());
  }

  private Task task(String job, int index) {
    for (Task t : tasks()) {
      if (t.job().equals(job) && t.index() == index) {
        return t;
      }
    }
    throw new IllegalStateException("no task " + job + ":" + index);
  }

  /** Seconds the chief waits for every task's server at start. */
  public int connectTimeoutSeconds() {
    return config.getConnectTimeoutSeconds();
  }

  /** Longest a step may take before it fails; 0: no limit. */
  public int stepTimeoutSeconds() {
    return config.getStepTimeoutSeconds();
  }

  /**
   * The {@code ServerDef} of this process's gRPC server. The server listens on every interface at its
   * task's port; {@code sessionConfig} sets the threads of the steps it runs for the chief.
   */
  public ServerDef serverDef(ConfigProto sessionConfig) {
    ClusterDef.Builder cd = ClusterDef.newBuilder();
    for (ClusterConfig.Job j : config.getJobList()) {
      JobDef.Builder jd = JobDef.newBuilder().setName(j.getName());
      for (int i = 0; i < j.getTasksCount(); i++) {
        jd.putTasks(i, j.getTasks(i));
      }
      cd.addJob(jd);
    }
    return ServerDef.newBuilder().setCluster(cd).setJobName(config.getTaskType())
        .setTaskIndex(config.getTaskIndex()).setProtocol("grpc").setDefaultSessionConfig(sessionConfig).build();
  }

  /** The session target of this process: its own server, which is the master of the chief's steps. */
  public String target() {
    return "grpc://localhost:" + self().port();
  }

  /**
   * The towers' devices: for every task (chief first) each of {@code local} (the devices of one
   * process, e.g. {@code /device:GPU:0}) under the task's name; a task without GPUs in {@code local}
   * gets one CPU tower. All tasks are assumed to have the same devices.
   */
  public List<String> towerDevices(List<String> local) {
    List<String> perTask = new ArrayList<>();
    for (String d : local) {
      if (d.toUpperCase().contains("GPU")) {
        perTask.add(d.startsWith("/") ? d : "/" + d);
      }
    }
    if (perTask.isEmpty()) {
      perTask.add("/device:CPU:0");
    }
    List<String> out = new ArrayList<>();
    for (Task t : tasks()) {
      for (String d : perTask) {
        out.add(t.deviceScope() + d);
      }
    }
    return out;
  }

  /** A few lines for people: source, jobs, this task, role. */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    sb.append("cluster (from ").append(source).append("), ").append(tasks().size()).append(" tasks:\n");
    for (Task t : tasks()) {
      sb.append("  ").append(t).append(t.equals(chief()) ? "  chief: variables, update, tower 0" : "  tower")
          .append(t.equals(self()) ? "  <- this process" : "").append('\n');
    }
    sb.append("this process: ").append(self()).append(isChief() ? ", the chief, session target " + target()
        : ", serves the chief until stopped").append('\n');
    return sb.toString();
  }
}
