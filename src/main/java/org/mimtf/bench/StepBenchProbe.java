package org.mimtf.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.*;
import org.mimtf.train.AdamW;
import org.tensorflow.*;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.OptimizerOptions;
import org.tensorflow.types.*;

/** Temporary probe: time a masked-token-prediction training step. */
public final class StepBenchProbe {
  public static void main(String[] args) {
    int img = Integer.parseInt(args[0]), patch = Integer.parseInt(args[1]), width = Integer.parseInt(args[2]);
    int depth = Integer.parseInt(args[3]), heads = Integer.parseInt(args[4]), batch = Integer.parseInt(args[5]);
    int steps = Integer.parseInt(args[6]);
    boolean xla = args.length > 7 && args[7].equals("xla");
    int intra = args.length > 8 ? Integer.parseInt(args[8]) : 2;
    int inter = args.length > 9 ? Integer.parseInt(args[9]) : 2;
    VitConfig cfg = new VitConfig(width, depth, heads, 4 * width, img, patch, 3, ModelConfig.AbsPosEmbedding.ABS_NONE,
        ModelConfig.RelPosBias.SHARED, ModelConfig.QkvBias.QV_BIAS, 0.1f, 0f, 1e-6f, ModelConfig.Init.BEIT,
        new float[]{0.5f,0.5f,0.5f}, new float[]{0.5f,0.5f,0.5f}, 0);
    int n = cfg.numPatches();
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), cfg, true);
      Dense head = Dense.create(ps, tf.withSubScope("head"), width, 1024, true, vit.initScheme().kernel(width, 1024, 1f), depth + 1);
      var images = tf.withName("images").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, img, img, 3)));
      var mask = tf.withName("mask").placeholder(TBool.class, Placeholder.shape(Shape.of(-1, n)));
      var labels = tf.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, n)));
      Compute c = Compute.fp32();
      var out = vit.forward(tf, c, images, VisionTransformer.Inputs.none().mask(mask));
      var patches = out.patchTokens(tf);
      var where = tf.where(mask);
      var sel = tf.gatherNd(patches, where);
      var logits = head.apply(tf, c, sel);
      var lab = tf.gatherNd(labels, where);
      var onehot = tf.oneHot(lab, tf.constant(1024), tf.constant(1f), tf.constant(0f));
      var ce = tf.nn.softmaxCrossEntropyWithLogits(logits, onehot);
      var loss = tf.withName("loss").math.mean(ce.loss(), tf.constant(0));
      List<Param> params = ps.trainable();
      List<Operand<?>> xs = new ArrayList<>();
      for (Param p : params) xs.add(p.read());
      var grads = tf.gradients(loss, xs);
      var step = tf.withName("global_step").variable(tf.constant(0L));
      List<AdamW.Target> targets = new ArrayList<>();
      for (int i = 0; i < params.size(); i++) targets.add(new AdamW.Target(params.get(i), (Operand<TFloat32>) (Operand<?>) grads.dy(i), 1f, params.get(i).decays()));
      var built = AdamW.build(tf, new AdamW.Hyper(0.9f, 0.98f, 1e-8f), targets, tf.identity(step), tf.constant(1e-3f), tf.constant(0.05f));
      var inc = tf.withControlDependencies(List.of(built.update())).assignAdd(step, tf.constant(1L));
      var cfgb = ConfigProto.newBuilder().setIntraOpParallelismThreads(intra).setInterOpParallelismThreads(inter);
      if (xla) cfgb.setGraphOptions(GraphOptions.newBuilder().setOptimizerOptions(OptimizerOptions.newBuilder().setGlobalJitLevel(OptimizerOptions.GlobalJitLevel.ON_1)));
      try (Session s = new Session(g, cfgb.build())) {
        Random r = new Random(0);
        float[] im = new float[batch * img * img * 3]; for (int i = 0; i < im.length; i++) im[i] = r.nextFloat();
        boolean[] mk = new boolean[batch * n]; for (int i = 0; i < mk.length; i++) mk[i] = r.nextFloat() < 0.4;
        int[] lb = new int[batch * n]; for (int i = 0; i < lb.length; i++) lb[i] = r.nextInt(1024);
        try (TFloat32 ti = TFloat32.tensorOf(Shape.of(batch, img, img, 3), DataBuffers.of(im, true, false));
             TBool tm = TBool.tensorOf(Shape.of(batch, n), DataBuffers.of(mk, true, false));
             TInt32 tl = TInt32.tensorOf(Shape.of(batch, n), DataBuffers.of(lb, true, false))) {
          double[] times = new double[steps];
          for (int i = 0; i < steps + 3; i++) {
            long t0 = System.nanoTime();
            try (Result res = s.runner().feed(images, ti).feed(mask, tm).feed(labels, tl).fetch(loss).addTarget(inc).run()) {
              float l = ((TFloat32) res.get(0)).getFloat();
              if (i >= 3) times[i - 3] = (System.nanoTime() - t0) / 1e6;
              if (i % 5 == 0) System.out.printf("step %d loss %.4f %.1f ms%n", i, l, (System.nanoTime() - t0) / 1e6);
            }
          }
          java.util.Arrays.sort(times);
          double med = times[steps / 2];
          double flops = 3 * (cfg.forwardFlops(n + 1) + 2.0 * 0.4 * n * width * 1024) * batch;
          System.out.printf("median %.1f ms/step, %.1f img/s, %.1f GFLOP/s%n", med, batch * 1000 / med, flops / med / 1e6);
        }
      }
    }
  }
}
