package org.mimtf.methods.beitv2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.api.StepInputs;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.testing.TinyRecipes;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

class Beitv2MethodTest {
  static final int B = 2;
  static final int N = 49;

  static Recipe tiny() {
    return RecipeLoader.load(TinyRecipes.repoRoot().resolve("graphs/beitv2_fmnist_small.pbtxt"), List.of(
        "model.width=32", "model.depth=3", "model.num_heads=2", "beitv2.early_layers=2",
        "beitv2.aggregation_head.depth=1", "beitv2.tokenizer.codebook_size=16"));
  }

  private static final class Fixture implements AutoCloseable {
    final Graph g = new Graph();
    final Session s;
    final ParamStore ps = new ParamStore(new Initializers(0));
    final Placeholder<TFloat32> image;
    final Placeholder<TBool> mask;
    final Placeholder<TInt32> tokens;
    final TowerOutput out;
    final Ops tf;

    Fixture(Recipe r) {
      tf = Ops.create(g);
      Beitv2Method m = new Beitv2Method(r, null);
      m.create(tf, ps);
      image = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, 28, 28, 1)));
      mask = tf.placeholder(TBool.class, Placeholder.shape(Shape.of(B, N)));
      tokens = tf.placeholder(TInt32.class, Placeholder.shape(Shape.of(B, N)));
      StepInputs step = new StepInputs(tf.constant(0L), tf.constant(new long[] {0, 0}), Map.of(), false);
      out = m.tower(tf, Compute.fp32(), new TowerInputs(Map.of("image", image, "mask", mask, "tokens", tokens), step,
          0));
      s = new Session(g);
      s.initialize();
    }

    float[] run(float[] img, boolean[] m, int[] tok, List<Operand<TFloat32>> fetch) {
      try (TFloat32 a = TFloat32.tensorOf(Shape.of(B, 28, 28, 1), DataBuffers.of(img, true, false));
          TBool b = TBool.tensorOf(Shape.of(B, N), DataBuffers.of(m, true, false));
          TInt32 c = TInt32.tensorOf(Shape.of(B, N), DataBuffers.of(tok, true, false))) {
        var r = s.runner().feed(image, a).feed(mask, b).feed(tokens, c);
        fetch.forEach(r::fetch);
        try (Result res = r.run()) {
          float[] v = new float[fetch.size()];
          for (int i = 0; i < v.length; i++) {
            v[i] = ((TFloat32) res.get(i)).getFloat();
          }
          return v;
        }
      }
    }

    @Override
    public void close() {
      s.close();
      g.close();
    }
  }

  static float[] images() {
    SplittableRandom r = new SplittableRandom(4);
    float[] a = new float[B * 784];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextDouble();
    }
    return a;
  }

  @Test
  void bothLossesCountOnlyMaskedPositions() {
    try (Fixture f = new Fixture(tiny())) {
      boolean[] mask = new boolean[B * N];
      int[] tok = new int[B * N];
      for (int i = 0; i < B * N; i++) {
        mask[i] = i % 3 == 0;
        tok[i] = i % 16;
      }
      List<Operand<TFloat32>> fetch = List.of(f.out.lossTerms().get("mim_ce"), f.out.lossTerms().get("aggregation_ce"));
      float[] base = f.run(images(), mask, tok, fetch);
      int[] changed = tok.clone();
      for (int i = 0; i < B * N; i++) {
        if (!mask[i]) {
          changed[i] = (tok[i] + 5) % 16;
        }
      }
      float[] same = f.run(images(), mask, changed, fetch);
      assertEquals(base[0], same[0], "tokens at unmasked positions do not enter the MIM loss");
      assertEquals(base[1], same[1], "nor the aggregation loss");
      changed[0] = (tok[0] + 5) % 16; // position 0 is masked
      float[] moved = f.run(images(), mask, changed, fetch);
      assertNotEquals(base[0], moved[0]);
      assertNotEquals(base[1], moved[1]);
    }
  }

  @Test
  void theMimHeadIsOneSetOfVariablesUsedByBothBranches() {
    try (Fixture f = new Fixture(tiny())) {
      List<String> heads = f.ps.all().stream().map(Param::name).filter(n -> n.startsWith("heads/"))
          .filter(n -> n.endsWith("kernel") && !n.contains("/blocks/")).toList();
      assertEquals(List.of("heads/mim/kernel"), heads, "one head, no second one for the aggregation branch");
      // the aggregation loss alone has a gradient on the shared head and on the shared final norm
      Param head = f.ps.get("heads/mim/kernel");
      Param norm = f.ps.get("encoder/norm/gamma");
      var grads = f.tf.gradients(f.out.lossTerms().get("aggregation_ce"), List.of(head.read(), norm.read()));
      @SuppressWarnings("unchecked")
      Operand<TFloat32> gh = (Operand<TFloat32>) (Operand<?>) grads.dy(0);
      @SuppressWarnings("unchecked")
      Operand<TFloat32> gn = (Operand<TFloat32>) (Operand<?>) grads.dy(1);
      boolean[] mask = new boolean[B * N];
      int[] tok = new int[B * N];
      for (int i = 0; i < B * N; i++) {
        mask[i] = i % 2 == 0;
        tok[i] = i % 16;
      }
      Operand<TFloat32> hn = f.tf.sum(f.tf.math.abs(gh), f.tf.constant(new int[] {0, 1}));
      Operand<TFloat32> nn = f.tf.sum(f.tf.math.abs(gn), f.tf.constant(0));
      float[] v = f.run(images(), mask, tok, List.of(hn, nn));
      assertTrue(v[0] > 0 && v[1] > 0, "gradients " + v[0] + ", " + v[1]);
    }
  }

  @Test
  void anUnsharedHeadAddsItsOwnVariables() {
    Recipe r = tiny().toBuilder().setBeitv2(tiny().getBeitv2().toBuilder().setSharedLmHead(false)).build();
    try (Fixture f = new Fixture(r)) {
      assertTrue(f.ps.all().stream().anyMatch(p -> p.name().equals("heads/aggregation/head/kernel")));
    }
  }

}
