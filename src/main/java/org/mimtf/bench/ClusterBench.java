package org.mimtf.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.mimtf.cluster.ClusterRunTarget;
import org.mimtf.cluster.ClusterSpec;
import org.mimtf.cluster.TfConfig;
import org.mimtf.config.proto.ClusterConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.nn.Compute;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import org.tensorflow.Session;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;

/**
 * {@code bench cluster}: the step of {@code bench step}'s model and global batch with its towers in 1, 2
 * and 3 processes on this machine (loopback gRPC), against the same number of towers inside one
 * process; and the bytes that cross between tasks per step, from one traced step (the {@code _Recv}
 * ops whose sender is another task, with the sizes step stats record for their outputs). On one
 * machine this measures the distributed runtime's overhead, not a speed-up.
 */
public final class ClusterBench {
  private ClusterBench() {}

  /** Runs the benchmark for 1..maxProcesses; {@code recipe} is any valid recipe (the workers need one). */
  public static Json.Obj run(StepBench.Config config, int globalBatch, int maxProcesses, int warmup, int steps,
      Path recipe, PrintStream out) throws IOException, InterruptedException {
    StepBench.Config c = new StepBench.Config(config.name(), config.image(), config.patch(), config.width(),
        config.depth(), config.heads(), globalBatch);
    VitConfig vit = new VitConfig(c.width(), c.depth(), c.heads(), 4 * c.width(), c.image(), c.patch(), 3,
        ModelConfig.AbsPosEmbedding.ABS_NONE, ModelConfig.RelPosBias.SHARED, ModelConfig.QkvBias.QV_BIAS, 0.1f, 0f,
        1e-6f, ModelConfig.Init.BEIT, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, 0);
    MaskedTokenModel model = new MaskedTokenModel(vit, 1024);
    Batch b = batch(model, vit.numPatches(), c.batch());
    OptimizerConfig opt = OptimizerConfig.newBuilder().setBeta2(0.98f).setClipGradNorm(3f).build();
    TrainingConfig t = TrainingConfig.getDefaultInstance();
    List<Json.Obj> rows = new ArrayList<>();
    long paramBytes = -1;
    for (int n = 1; n <= maxProcesses; n++) {
      if (c.batch() % n != 0) {
        throw new UserException("batch " + c.batch() + " does not split over " + n + " towers");
      }
      List<String> local = new ArrayList<>();
      for (int i = 0; n > 1 && i < n; i++) {
        local.add("/device:CPU:" + i);
      }
      double inProcess;
      try (StepGraph sg = new StepGraph(model, model.fields(), opt, Compute.fp32(), 1, 0, local);
          Session s = new Session(sg.graph(), SessionConfigs.training(t, local))) {
        s.initialize();
        inProcess = median(sg, s, b, warmup, steps);
        paramBytes = 4L * sg.params().trainableCount();
      }
      out.printf("%d tower(s) in one process: %.1f ms/step%n", n, inProcess);
      double clustered = Double.NaN;
      long crossBytes = 0;
      long inputBytes = 0;
      long unsized = 0;
      if (n > 1) {
        int[] ports = freePorts(n);
        ClusterConfig.Builder cc = ClusterConfig.newBuilder().addJob(ClusterConfig.Job.newBuilder().setName("chief")
            .addTasks("127.0.0.1:" + ports[0]));
        ClusterConfig.Job.Builder w = ClusterConfig.Job.newBuilder().setName("worker");
        for (int i = 1; i < n; i++) {
          w.addTasks("127.0.0.1:" + ports[i]);
        }
        cc.addJob(w).setConnectTimeoutSeconds(120);
        TrainingConfig ct = TrainingConfig.newBuilder().setCluster(cc).build();
        ClusterSpec spec = ClusterSpec.resolve(ct, null, null, null).orElseThrow();
        List<Process> workers = new ArrayList<>();
        try {
          for (int i = 1; i < n; i++) {
            workers.add(startWorker(recipe, ports, i - 1));
          }
          ClusterRunTarget target = ClusterRunTarget.startChief(spec, ct, new PrintStream(
              java.io.OutputStream.nullOutputStream()));
          List<String> devices = target.towerDevices(ct);
          try (StepGraph sg = new StepGraph(model, model.fields(), opt, Compute.fp32(), 1, 0, devices);
              Session s = target.open(sg.graph(), ct, devices)) {
            s.initialize();
            clustered = median(sg, s, b, warmup, steps);
            long[] bytes = crossTaskBytes(sg, s, b);
            crossBytes = bytes[0];
            inputBytes = bytes[1];
            unsized = bytes[2];
          } finally {
            target.trainingDone();
          }
        } finally {
          for (Process p : workers) {
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
          }
        }
        out.printf("%d processes: %.1f ms/step (%.2fx the in-process towers), %.2f MB between tasks per step, "
            + "%.2f MB of it input (%d transfers not sized)%n", n, clustered, clustered / inProcess, crossBytes / 1e6,
            inputBytes / 1e6, unsized);
      }
      double ms = n == 1 ? inProcess : clustered;
      rows.add(Json.obj().put("processes", n).put("ms_per_step", ms).put("images_per_s", c.batch() * 1000.0 / ms)
          .put("in_process_towers_ms_per_step", inProcess).put("overhead_vs_in_process", ms / inProcess)
          .put("bytes_between_tasks_per_step", crossBytes).put("input_bytes_between_tasks_per_step", inputBytes)
          .put("transfers_not_sized", unsized));
    }
    return Json.obj().put("bench", "cluster").put("config", c.name()).put("global_batch", c.batch())
        .put("steps", steps).put("param_bytes", paramBytes).put("runs", rows);
  }

  private static Process startWorker(Path recipe, int[] ports, int index) throws IOException {
    StringBuilder w = new StringBuilder();
    for (int i = 1; i < ports.length; i++) {
      w.append(i > 1 ? ", " : "").append("\"127.0.0.1:").append(ports[i]).append('"');
    }
    String tfConfig = "{\"cluster\": {\"chief\": [\"127.0.0.1:" + ports[0] + "\"], \"worker\": [" + w + "]}, "
        + "\"task\": {\"type\": \"worker\", \"index\": " + index + "}}";
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "org.mimtf.cli.Mimtf",
        "worker", "--recipe", recipe.toString()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put(TfConfig.ENV, tfConfig);
    pb.environment().putIfAbsent("TF_CPP_MIN_LOG_LEVEL", "2");
    return pb.start();
  }

  private static double median(StepGraph sg, Session s, Batch b, int warmup, int steps) {
    double[] ms = new double[steps];
    for (int i = 0; i < warmup + steps; i++) {
      long t0 = System.nanoTime();
      sg.step(s, b, i, 1e-3, 0.05, Map.of(), 0, true, null);
      if (i >= warmup) {
        ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
      }
    }
    Arrays.sort(ms);
    return ms[steps / 2];
  }

  /**
   * Bytes received by one task from another in one step, from the partition graphs TF ran: every
   * {@code _Recv} whose {@code send_device} is on another task moves one tensor, named by the
   * partitioner {@code edge_<id>_<source op>}; its size is the source's static shape in the step's
   * graph (a batch dimension counted at the per-tower batch) times its type's width. Returns
   * {total, input (tensors of the {@code inputs/} scope: the fed batch's slices), tensors not sized}.
   */
  static long[] crossTaskBytes(StepGraph sg, Session s, Batch b) {
    List<org.tensorflow.Tensor> owned = new ArrayList<>();
    try {
      Session.Runner r = sg.feed(s, b, 1_000_000, 1e-3, 0.05, Map.of(), 0, owned).addTarget(sg.trainTarget(true))
          .setOptions(RunOptions.newBuilder().setOutputPartitionGraphs(true).build());
      try (var res = r.runAndFetchMetadata()) {
        RunMetadata md = res.getMetadata().orElseThrow();
        long perTower = b.size() / sg.towers();
        long bytes = 0;
        long input = 0;
        long unsized = 0;
        for (GraphDef part : md.getPartitionGraphsList()) {
          for (NodeDef n : part.getNodeList()) {
            if (!n.getOp().equals("_Recv") || !n.containsAttr("send_device") || !n.containsAttr("recv_device")
                || task(n.getAttrOrThrow("send_device").getS().toStringUtf8())
                    .equals(task(n.getAttrOrThrow("recv_device").getS().toStringUtf8()))) {
              continue;
            }
            String tensor = n.getAttrOrThrow("tensor_name").getS().toStringUtf8();
            String src = tensor.replaceFirst("^edge_\\d+_", "");
            var op = sg.graph().operation(src);
            int width = switch (n.getAttrOrThrow("tensor_type").getType().getNumber()) {
              case 1, 3 -> 4; // float, int32
              case 2, 9 -> 8; // double, int64
              case 14, 19 -> 2; // bfloat16, half
              case 10 -> 1; // bool
              default -> 0;
            };
            long size = -1;
            if (op != null && width > 0 && op.numOutputs() > 0) {
              org.tensorflow.ndarray.Shape shape = op.output(0).shape();
              if (!shape.isUnknown()) {
                size = width;
                for (long d : shape.asArray()) {
                  size *= d < 0 ? perTower : d;
                }
              }
            }
            if (size < 0) {
              unsized++;
              continue;
            }
            bytes += size;
            input += isInput(tensor) ? size : 0;
          }
        }
        return new long[] {bytes, input, unsized};
      }
    } finally {
      owned.forEach(org.tensorflow.Tensor::close);
    }
  }

  /** The partitioner names a transfer {@code edge_<id>_<source node>}; input sources are under inputs/. */
  static boolean isInput(String tensorName) {
    return tensorName.startsWith("inputs/") || tensorName.matches("edge_\\d+_inputs/.*");
  }

  private static String task(String device) {
    int d = device.indexOf("/device:");
    return d < 0 ? device : device.substring(0, d);
  }

  private static Batch batch(MaskedTokenModel model, int n, int size) {
    Batch b = Batch.allocate(model.fields(), size);
    SplittableRandom rng = new SplittableRandom(0);
    float[] img = b.floats("image");
    for (int i = 0; i < img.length; i++) {
      img[i] = (float) rng.nextDouble();
    }
    int masked = (int) Math.round(0.4 * n);
    for (int i = 0; i < size; i++) {
      for (int j = 0; j < n; j++) {
        // the first `masked` of a per-image rotation: exactly 40 % per image, every tower alike
        b.bools("mask")[i * n + j] = Math.floorMod(j - i, n) < masked;
        b.ints("targets")[i * n + j] = rng.nextInt(1024);
      }
    }
    return b;
  }

  private static int[] freePorts(int n) throws IOException {
    List<java.net.ServerSocket> open = new ArrayList<>();
    int[] out = new int[n];
    try {
      for (int i = 0; i < n; i++) {
        java.net.ServerSocket s = new java.net.ServerSocket(0);
        open.add(s);
        out[i] = s.getLocalPort();
      }
    } finally {
      for (java.net.ServerSocket s : open) {
        s.close();
      }
    }
    return out;
  }
}
