package org.mimtf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.ClusterConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.export.CheckpointIndex;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.train.Checkpoints;
import org.mimtf.train.Trainer;
import org.mimtf.util.Json;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Training on TF's gRPC runtime with every task a separate process on 127.0.0.1 (ports picked free at
 * run time): N processes must train exactly like one process with N towers, and a worker killed mid-run
 * must stop the chief with a message naming it, after which {@code --resume} continues the loss sequence
 * of an uninterrupted run.
 */
class ClusterTrainingTest {
  /** Bound on each process: graph build and a few tiny steps take ~30-60 s on the shared 2-core box. */
  static final long PROCESS_SECONDS = 300;

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void stopAll() {
    started.forEach(Process::destroyForcibly);
  }

  @Test
  void twoProcessesTrainConmimLikeOneProcessWithTwoTowers() throws Exception {
    // ConMIM couples its towers (BatchNorm over the global batch): one gradient through both tasks.
    Recipe base = TinyRecipes.conmim(dir.resolve("one"), 4, "training.devices=2", "training.checkpoint_every_steps=4");
    Map<Long, Double> reference = trainInProcess(base);
    Map<String, float[]> refWeights = weights(dir.resolve("one/run"));

    int[] ports = freePorts(2);
    Recipe cluster = withCluster(TinyRecipes.conmim(dir.resolve("two"), 4, "training.checkpoint_every_steps=4"),
        ClusterConfig.newBuilder().addJob(job("chief", ports[0])).addJob(job("worker", ports[1])).build());
    Path recipe = write(cluster, "two.pbtxt");
    Process worker = start("worker", null, "worker", "--recipe", recipe.toString(), "--task", "0",
        "--until-stdin-closes");
    Process chief = start("chief", null, "pretrain", "--recipe", recipe.toString(), "--no-export",
        "--log-placement");
    finish(chief, "chief", 0);
    String out = log("chief");
    assertTrue(out.contains("towers on [/job:chief/replica:0/task:0/device:CPU:0, "
        + "/job:worker/replica:0/task:0/device:CPU:0]"), out);
    String placement = Files.readString(dir.resolve("two/run/placement.txt"));
    assertTrue(placement.matches("(?s).*\\d+ ops on /job:worker/replica:0/task:0/device:CPU:0.*"),
        "the worker process runs ops of the step:\n" + placement.lines().limit(5).toList());
    assertSame(reference, losses(dir.resolve("two/run")), "2 processes vs 2 towers");
    assertSameWeights(refWeights, weights(dir.resolve("two/run")));
    worker.getOutputStream().close();
    finish(worker, "worker", 0);
    assertTrue(log("worker").contains("\"stopped_by\":\"stdin closed\""), log("worker"));
  }

  @Test
  void threeProcessesTrainCcvitLikeOneProcessWithThreeTowers() throws Exception {
    // CCViT's towers are independent: per-tower gradients averaged on the chief. TF_CONFIG this time.
    String[] sets = {"training.batch_size=12", "training.checkpoint_every_steps=3"};
    Recipe base = TinyRecipes.ccvit(dir.resolve("one"), 3, concat(sets, "training.devices=3"));
    Map<Long, Double> reference = trainInProcess(base);
    Map<String, float[]> refWeights = weights(dir.resolve("one/run"));

    int[] p = freePorts(3);
    Path recipe = write(TinyRecipes.ccvit(dir.resolve("three"), 3, sets), "three.pbtxt");
    String cluster = String.format("\"cluster\": {\"chief\": [\"127.0.0.1:%d\"], \"worker\": [\"127.0.0.1:%d\", "
        + "\"localhost:%d\"]}", p[0], p[1], p[2]);
    for (int i = 0; i < 2; i++) {
      start("worker" + i, "{" + cluster + ", \"task\": {\"type\": \"worker\", \"index\": " + i + "}}", "worker",
          "--recipe", recipe.toString(), "--until-stdin-closes");
    }
    Process chief = start("chief", "{" + cluster + ", \"task\": {\"type\": \"chief\", \"index\": 0}}", "pretrain",
        "--recipe", recipe.toString(), "--no-export");
    finish(chief, "chief", 0);
    assertTrue(log("chief").contains("/job:worker/replica:0/task:1/device:CPU:0]"), log("chief"));
    assertSame(reference, losses(dir.resolve("three/run")), "3 processes vs 3 towers");
    assertSameWeights(refWeights, weights(dir.resolve("three/run")));
  }

  @Test
  void aKilledWorkerStopsTheChiefNamingItAndResumeContinuesExactly() throws Exception {
    Recipe base = TinyRecipes.conmim(dir.resolve("one"), 10, "training.devices=2",
        "training.checkpoint_every_steps=2");
    Map<Long, Double> reference = trainInProcess(base);

    int[] ports = freePorts(2);
    Recipe cluster = withCluster(TinyRecipes.conmim(dir.resolve("two"), 10, "training.checkpoint_every_steps=2"),
        ClusterConfig.newBuilder().addJob(job("chief", ports[0])).addJob(job("worker", ports[1])).build());
    Path recipe = write(cluster, "two.pbtxt");
    Process worker = start("worker", null, "worker", "--recipe", recipe.toString(), "--task", "0",
        "--until-stdin-closes");
    // Without GRPC_FAIL_FAST (a chief started without the launcher) TF may wait for the lost worker; the
    // chief's watchdog bounds that: either way it must stop with the message naming the task.
    Process chief = start("chief", null, false, "pretrain", "--recipe", recipe.toString(), "--no-export");
    Path metrics = dir.resolve("two/run/metrics.jsonl");
    long deadline = System.nanoTime() + PROCESS_SECONDS * 1_000_000_000L;
    while (!(Files.exists(metrics) && Files.readAllLines(metrics).size() >= 3)) {
      assertTrue(chief.isAlive() && System.nanoTime() < deadline, "chief reaches step 3:\n" + log("chief"));
      Thread.sleep(100);
    }
    new ProcessBuilder("kill", "-9", Long.toString(worker.pid())).start().waitFor();
    finish(chief, "chief", 2);
    String out = log("chief");
    // the chief's message about the lost task (a run started with SIGINT ignored, e.g. under nohup, says
    // so first in another "mimtf: " line)
    String last = out.lines().filter(l -> l.startsWith("mimtf: cluster task")).findFirst().orElse("");
    assertTrue(last.startsWith("mimtf: cluster task(s) [/job:worker/task:0 (127.0.0.1:" + ports[1] + ")] stopped "
        + "answering during training"), out);
    long kept = Checkpoints.stepOf(new Checkpoints(dir.resolve("two/run/checkpoints"), 3).latest().orElseThrow());
    assertTrue(last.contains("the last good checkpoint is " + dir.resolve("two/run/checkpoints/ckpt-" + kept)), last);
    assertTrue(kept >= 2 && kept < 10, "a checkpoint before the kill: " + kept);

    start("worker-again", null, "worker", "--recipe", recipe.toString(), "--task", "0", "--until-stdin-closes");
    Process again = start("chief-again", null, "pretrain", "--recipe", recipe.toString(), "--no-export", "--resume");
    finish(again, "chief-again", 0);
    assertTrue(log("chief-again").contains("resumed from"), log("chief-again"));
    assertSame(reference, losses(dir.resolve("two/run")), "killed at step >= 3, resumed from step " + kept);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private static Map<Long, Double> trainInProcess(Recipe r) {
    new Trainer(r, MethodRegistry.create(r), false, new PrintStream(new ByteArrayOutputStream())).run();
    try {
      return losses(Path.of(r.getTraining().getRunDir()));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static ClusterConfig.Job job(String name, int... ports) {
    ClusterConfig.Job.Builder b = ClusterConfig.Job.newBuilder().setName(name);
    for (int p : ports) {
      b.addTasks("127.0.0.1:" + p);
    }
    return b.build();
  }

  private static Recipe withCluster(Recipe r, ClusterConfig c) {
    Recipe.Builder b = r.toBuilder();
    b.getTrainingBuilder().setCluster(c);
    return b.build();
  }

  private static String[] concat(String[] a, String... b) {
    List<String> l = new ArrayList<>(List.of(a));
    l.addAll(List.of(b));
    return l.toArray(new String[0]);
  }

  private Path write(Recipe r, String name) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, TextFormat.printer().printToString(r));
    return p;
  }

  static int[] freePorts(int n) throws IOException {
    List<ServerSocket> open = new ArrayList<>();
    int[] out = new int[n];
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0);
        open.add(s);
        out[i] = s.getLocalPort();
      }
    } finally {
      for (ServerSocket s : open) {
        s.close();
      }
    }
    return out;
  }

  private Process start(String name, String tfConfig, String... args) throws IOException {
    return start(name, tfConfig, true, args);
  }

  private Process start(String name, String tfConfig, boolean grpcFailFast, String... args) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        "org.mimtf.cli.Mimtf"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    pb.environment().remove("GRPC_FAIL_FAST");
    if (grpcFailFast) {
      pb.environment().put("GRPC_FAIL_FAST", "true"); // as scripts/mimtf sets it
    }
    pb.environment().remove(TfConfig.ENV);
    if (tfConfig != null) {
      pb.environment().put(TfConfig.ENV, tfConfig);
    }
    Process p = pb.start();
    started.add(p);
    return p;
  }

  private String log(String name) throws IOException {
    return Files.readString(dir.resolve(name + ".log"), StandardCharsets.UTF_8);
  }

  private void finish(Process p, String name, int exitCode) throws Exception {
    assertTrue(p.waitFor(PROCESS_SECONDS, TimeUnit.SECONDS), name + " ends within " + PROCESS_SECONDS + " s:\n"
        + log(name));
    assertEquals(exitCode, p.exitValue(), name + ":\n" + log(name));
  }

  /** The loss of every step; a step logged again after a resume counts with its last value. */
  static Map<Long, Double> losses(Path runDir) throws IOException {
    Map<Long, Double> out = new TreeMap<>();
    for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
      Double step = Json.number(line, "step");
      Double loss = Json.number(line, "loss");
      if (step != null && loss != null) {
        out.put(step.longValue(), loss);
      }
    }
    return out;
  }

  private static void assertSame(Map<Long, Double> ref, Map<Long, Double> got, String what) {
    assertEquals(ref.keySet(), got.keySet(), what + ": logged steps");
    for (var e : ref.entrySet()) {
      double r = e.getValue();
      assertEquals(r, got.get(e.getKey()), 1e-5 * Math.max(1, Math.abs(r)), what + ", loss of step " + e.getKey());
    }
  }

  private static void assertSameWeights(Map<String, float[]> ref, Map<String, float[]> got) {
    assertEquals(ref.keySet(), got.keySet());
    double maxDiff = 0;
    for (var e : ref.entrySet()) {
      float[] a = e.getValue();
      float[] b = got.get(e.getKey());
      assertEquals(a.length, b.length, e.getKey());
      for (int i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      }
    }
    assertTrue(maxDiff < 1e-5, "checkpointed float tensors differ by up to " + maxDiff);
  }

  /** Every float tensor of the run's latest checkpoint, read with RestoreV2. */
  static Map<String, float[]> weights(Path runDir) {
    Path prefix = new Checkpoints(runDir.resolve("checkpoints"), 3).latest().orElseThrow();
    List<String> names = new ArrayList<>();
    for (CheckpointIndex.Entry e : CheckpointIndex.read(Path.of(prefix + ".index"))) {
      if (e.dtype().equals("DT_FLOAT")) {
        names.add(e.name());
      }
    }
    Map<String, float[]> out = new HashMap<>();
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      List<Class<? extends org.tensorflow.types.family.TType>> types = new ArrayList<>();
      names.forEach(n -> types.add(TFloat32.class));
      var restore = tf.train.restore(tf.constant(prefix.toString()),
          tf.constant(StdArrays.ndCopyOf(names.toArray(new String[0]))),
          tf.constant(StdArrays.ndCopyOf(names.stream().map(n -> "").toArray(String[]::new))), types);
      var runner = s.runner();
      restore.tensors().forEach(runner::fetch);
      try (Result r = runner.run()) {
        for (int i = 0; i < names.size(); i++) {
          TFloat32 t = (TFloat32) r.get(i);
          float[] a = new float[(int) t.shape().size()];
          t.asRawTensor().data().asFloats().read(a);
          out.put(names.get(i), a);
        }
      }
    }
    assertTrue(out.size() > 5, "float tensors in " + prefix + ": " + out.keySet());
    return out;
  }
}
