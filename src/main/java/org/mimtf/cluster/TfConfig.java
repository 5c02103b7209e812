package org.mimtf.cluster;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.ClusterConfig;
import org.mimtf.util.UserException;

/**
 * The {@code TF_CONFIG} environment variable of Python TensorFlow's distribution strategies
 * ({@code {"cluster": {"chief": ["h0:2222"], "worker": ["h1:2222", "h2:2222"]}, "task": {"type": "worker",
 * "index": 1}}}), read into the recipe's {@link ClusterConfig}, so launchers that set it (Kubernetes
 * operators, Slurm scripts written for TF) start mimtf unchanged.
 */
public final class TfConfig {
  /** The environment variable's name. */
  public static final String ENV = "TF_CONFIG";

  private TfConfig() {}

  private static UserException bad(String problem) {
    return new UserException(ENV + ": " + problem);
  }

  /**
   * Parses {@code json}; a malformed document throws {@link UserException} naming {@code TF_CONFIG} and
   * the part that is wrong. Timeouts are taken from {@code defaults} (the recipe's cluster section).
   */
  public static ClusterConfig parse(String json, ClusterConfig defaults) {
    Object root;
    try {
      // Gson maps objects to Map, arrays to List, numbers to Double, as the checks below expect.
      root = new Gson().fromJson(json, Object.class);
    } catch (JsonParseException e) {
      throw bad("is not JSON: " + e.getMessage());
    }
    if (!(root instanceof Map<?, ?> top)) {
      throw bad("must be a JSON object with \"cluster\" and \"task\"");
    }
    ClusterConfig.Builder b = ClusterConfig.newBuilder()
        .setConnectTimeoutSeconds(defaults.getConnectTimeoutSeconds())
        .setStepTimeoutSeconds(defaults.getStepTimeoutSeconds());
    if (!(top.get("cluster") instanceof Map<?, ?> cluster)) {
      throw bad("has no \"cluster\" object (expected {\"cluster\": {\"worker\": "
          + "[\"host:port\", ...]}, ...})");
    }
    for (var e : cluster.entrySet()) {
      if (!(e.getValue() instanceof List<?> tasks)) {
        throw bad("cluster." + e.getKey() + " must be a list of \"host:port\" strings");
      }
      ClusterConfig.Job.Builder job = ClusterConfig.Job.newBuilder().setName(String.valueOf(e.getKey()));
      for (int i = 0; i < tasks.size(); i++) {
        if (!(tasks.get(i) instanceof String s)) {
          throw bad("cluster." + e.getKey() + "[" + i + "] (" + tasks.get(i)
              + ") must be a \"host:port\" string");
        }
        job.addTasks(s);
      }
      b.addJob(job);
    }
    Object task = top.get("task");
    if (task != null) {
      if (!(task instanceof Map<?, ?> t)) {
        throw bad("task must be an object like {\"type\": \"worker\", \"index\": 0}");
      }
      if (t.get("type") != null) {
        b.setTaskType(String.valueOf(t.get("type")));
      }
      Object index = t.get("index");
      if (index != null) {
        if (!(index instanceof Double d) || d != Math.rint(d)) {
          throw bad("task.index (" + index + ") must be an integer");
        }
        b.setTaskIndex(d.intValue());
      }
    }
    return b.build();
  }
}
