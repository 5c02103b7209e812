package org.mimtf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.RecipeException;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.ClusterConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.util.UserException;
import org.tensorflow.proto.ServerDef;

/** The cluster as data: recipe section, TF_CONFIG, validation with the field named, tower devices. */
class ClusterSpecTest {
  @TempDir Path dir;

  static ClusterConfig.Job job(String name, String... tasks) {
    return ClusterConfig.Job.newBuilder().setName(name).addAllTasks(List.of(tasks)).build();
  }

  static TrainingConfig training(ClusterConfig c) {
    return TrainingConfig.newBuilder().setCluster(c).build();
  }

  static final ClusterConfig TWO_WORKERS = ClusterConfig.newBuilder()
      .addJob(job("chief", "10.0.0.1:2222")).addJob(job("worker", "10.0.0.2:2222", "10.0.0.3:2222")).build();

  @Test
  void noClusterIsOneProcess() {
    assertTrue(ClusterSpec.resolve(TrainingConfig.getDefaultInstance(), null, null, null).isEmpty());
    assertTrue(ClusterSpec.resolve(TrainingConfig.getDefaultInstance(), "  ", null, null).isEmpty());
    UserException e = assertThrows(UserException.class,
        () -> ClusterSpec.resolve(TrainingConfig.getDefaultInstance(), null, "worker", 1));
    assertTrue(e.getMessage().contains("training.cluster or TF_CONFIG"), e.getMessage());
  }

  @Test
  void theChiefHoldsTowerZeroAndEachWorkerOneTowerOnItsCpu() {
    ClusterSpec c = ClusterSpec.resolve(training(TWO_WORKERS), null, null, null).orElseThrow();
    assertTrue(c.isChief(), "no task_type: this process is the chief");
    assertEquals(new ClusterSpec.Task("chief", 0, "10.0.0.1:2222"), c.self());
    assertEquals("grpc://localhost:2222", c.target());
    assertEquals(List.of("/job:chief/replica:0/task:0/device:CPU:0", "/job:worker/replica:0/task:0/device:CPU:0",
        "/job:worker/replica:0/task:1/device:CPU:0"), c.towerDevices(List.of()));
    // Virtual CPU devices of one process do not multiply towers across tasks; GPUs do.
    assertEquals(3, c.towerDevices(List.of("/device:CPU:0", "/device:CPU:1")).size());
    assertEquals(List.of("/job:chief/replica:0/task:0/device:GPU:0", "/job:chief/replica:0/task:0/device:GPU:1",
        "/job:worker/replica:0/task:0/device:GPU:0", "/job:worker/replica:0/task:0/device:GPU:1",
        "/job:worker/replica:0/task:1/device:GPU:0", "/job:worker/replica:0/task:1/device:GPU:1"),
        c.towerDevices(List.of("/device:GPU:0", "/device:GPU:1")));

    ClusterSpec w = ClusterSpec.resolve(training(TWO_WORKERS), null, "worker", 1).orElseThrow();
    assertFalse(w.isChief());
    assertEquals(c.chief(), w.chief());
    ServerDef sd = w.serverDef(org.tensorflow.proto.ConfigProto.getDefaultInstance());
    assertEquals("worker", sd.getJobName());
    assertEquals(1, sd.getTaskIndex());
    assertEquals("grpc", sd.getProtocol());
    assertEquals("10.0.0.3:2222", sd.getCluster().getJob(1).getTasksOrThrow(1));
  }

  @Test
  void withoutAChiefJobWorkerZeroIsTheChief() {
    ClusterConfig c = ClusterConfig.newBuilder().addJob(job("worker", "h1:1", "h2:1")).build();
    ClusterSpec s = ClusterSpec.resolve(training(c), null, null, null).orElseThrow();
    assertEquals(new ClusterSpec.Task("worker", 0, "h1:1"), s.chief());
    assertTrue(s.isChief());
    assertFalse(ClusterSpec.resolve(training(c), null, "worker", 1).orElseThrow().isChief());
  }

  @Test
  void tfConfigWinsOverTheRecipeAndKeepsItsTimeouts() {
    String tfConfig = "{\"cluster\": {\"chief\": [\"a:1\"], \"worker\": [\"b:2\", \"c:3\"]},"
        + " \"task\": {\"type\": \"worker\", \"index\": 1}}";
    TrainingConfig t = training(TWO_WORKERS.toBuilder().setConnectTimeoutSeconds(7).build());
    ClusterSpec s = ClusterSpec.resolve(t, tfConfig, null, null).orElseThrow();
    assertEquals("TF_CONFIG", s.source());
    assertEquals(new ClusterSpec.Task("worker", 1, "c:3"), s.self());
    assertEquals(new ClusterSpec.Task("chief", 0, "a:1"), s.chief());
    assertEquals(7, s.connectTimeoutSeconds());
    // --task on the command line wins over TF_CONFIG's task
    assertEquals(0, ClusterSpec.resolve(t, tfConfig, "worker", 0).orElseThrow().self().index());
  }

  @Test
  void badClustersAreRefusedNamingTheField() {
    List<String> p = ClusterValidator.validate("training.cluster", ClusterConfig.newBuilder()
        .addJob(job("chief", "127.0.0.1:5000")).addJob(job("worker", "127.0.0.1:5001", "localhost:5000"))
        .setTaskType("worker").setTaskIndex(2).build());
    assertEquals(2, p.size(), p.toString());
    assertEquals("training.cluster.job[1].tasks[1] (\"localhost:5000\") is the same host:port as "
        + "training.cluster.job[0].tasks[0]: every task needs its own port", p.get(0));
    assertEquals("training.cluster.task_index (2) is out of range: job \"worker\" has 2 task(s) (0..1)", p.get(1));

    p = ClusterValidator.validate("training.cluster", TWO_WORKERS.toBuilder().setTaskType("evaluator").build());
    assertEquals(1, p.size(), p.toString());
    assertTrue(p.get(0).startsWith("training.cluster.task_type (\"evaluator\") is not a job of the cluster"), p.get(0));

    p = ClusterValidator.validate("training.cluster", ClusterConfig.newBuilder().addJob(job("ps", "h:1"))
        .addJob(job("worker", "h:2", "h:x")).build());
    assertTrue(p.get(0).startsWith("training.cluster.job[0].name (\"ps\") is not a job mimtf runs"), p.toString());
    assertTrue(p.contains("training.cluster.job[1].tasks[1] (\"h:x\") has no valid port (1..65535)"), p.toString());

    p = ClusterValidator.validate("training.cluster", ClusterConfig.newBuilder().addJob(job("chief", "a:1", "b:1"))
        .build());
    assertEquals(List.of("training.cluster.job[0].tasks has 2 entries: there is one chief"), p);

    UserException e = assertThrows(UserException.class, () -> ClusterSpec.resolve(TrainingConfig
        .getDefaultInstance(), "{\"cluster\": {\"worker\": [\"a:1\", \"a:1\"]}, \"task\": {\"type\": \"chief\"}}",
        null, null));
    assertTrue(e.getMessage().contains("TF_CONFIG cluster.worker[1] (\"a:1\") is the same host:port as "
        + "TF_CONFIG cluster.worker[0]"), e.getMessage());
    assertTrue(e.getMessage().contains("TF_CONFIG task.type (\"chief\") is not a job of the cluster"), e.getMessage());
    e = assertThrows(UserException.class, () -> ClusterSpec.resolve(TrainingConfig.getDefaultInstance(),
        "{\"cluster\": {\"worker\": [\"a:1\"]}, \"task\": {\"index\": 0.5}}", null, null));
    assertEquals("TF_CONFIG: task.index (0.5) must be an integer", e.getMessage());
    e = assertThrows(UserException.class, () -> ClusterSpec.resolve(TrainingConfig.getDefaultInstance(),
        "{\"cluster\": [", null, null));
    assertTrue(e.getMessage().startsWith("TF_CONFIG: is not JSON: "), e.getMessage());
  }

  @Test
  void theRecipeLoaderRefusesABadClusterSection() throws Exception {
    Path recipe = dir.resolve("r.pbtxt");
    String base = Files.readString(TinyRecipes.repoRoot().resolve("graphs/conmim_fmnist_small.pbtxt"));
    Files.writeString(recipe, base.replace("training {", "training {\n  cluster { job { name: \"worker\" "
        + "tasks: \"127.0.0.1:7000\" } task_index: 1 }"));
    RecipeException e = assertThrows(RecipeException.class, () -> RecipeLoader.load(recipe, List.of(
        "data.source.path=" + TinyRecipes.repoRoot().resolve("test-data/fashion-mnist/train-images-idx3-ubyte.gz"))));
    assertTrue(e.getMessage().contains(
        "training.cluster.task_index (1) is out of range: job \"worker\" has 1 task(s) (0..0)"), e.getMessage());
  }

}
