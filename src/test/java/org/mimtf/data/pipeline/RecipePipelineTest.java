package org.mimtf.data.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.TestData;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.methods.MethodRegistry;

/**
 * Pipelines built from recipes ({@link PipelineFactory#training}) on the Fashion-MNIST fixture:
 * determinism and resume with real augmentations and masks, views sharing geometry, and the masks
 * of the small CCViT and MOCA recipes.
 */
class RecipePipelineTest {
  static final Path CCVIT = Path.of("graphs/ccvit_fmnist_small.pbtxt");
  static final Path MOCA = Path.of("graphs/moca_fmnist_small.pbtxt");
  static final int BATCH = 16;
  static final int N = 49;

  @TempDir Path dir;

  static Recipe load(Path file, String... overrides) {
    List<String> o = new ArrayList<>(List.of("training.batch_size=" + BATCH));
    o.addAll(List.of(overrides));
    return RecipeLoader.load(file, o);
  }

  static List<Snapshot> batches(Recipe r, long start, int n) {
    try (Pipeline p = PipelineFactory.training(r, MethodRegistry.pipelineStages(r), start)) {
      return Snapshot.take(p, n);
    }
  }

  @Test
  void ccvitBatchesAreIdenticalWhateverTheWorkerCountAndDifferForAnotherSeed() {
    List<Snapshot> ref = batches(load(CCVIT, "data.workers=1"), 0, 5);
    assertEquals(List.of("image", "mask", "replaced", "label"), List.copyOf(ref.get(0).fields().keySet()));
    for (int w : new int[] {2, 3}) {
      Snapshot.assertSame(ref, batches(load(CCVIT, "data.workers=" + w), 0, 5), w + " workers vs 1");
    }
    List<Snapshot> other = batches(load(CCVIT, "data.workers=2", "training.seed=1"), 0, 5);
    for (int i = 0; i < 5; i++) {
      for (String f : List.of("image", "mask", "replaced", "label")) {
        assertFalse(Arrays.equals(values(ref.get(i), f), values(other.get(i), f)),
            "batch " + i + " field " + f + " is the same for seeds 0 and 1");
      }
    }
  }

  private static Object[] values(Snapshot s, String field) {
    Object a = s.fields().get(field);
    if (a instanceof float[] f) {
      return IntStream.range(0, f.length).mapToObj(i -> Float.floatToRawIntBits(f[i])).toArray();
    }
    if (a instanceof int[] x) {
      return Arrays.stream(x).boxed().toArray();
    }
    boolean[] b = (boolean[]) a;
    return IntStream.range(0, b.length).mapToObj(i -> b[i]).toArray();
  }

  @Test
  void ccvitResumesExactlyFromAPosition() {
    Recipe r = load(CCVIT, "data.workers=2");
    long pos;
    List<Snapshot> expected;
    try (Pipeline p = PipelineFactory.training(r, MethodRegistry.pipelineStages(r), 0)) {
      Snapshot.take(p, 3);
      pos = p.position();
      expected = Snapshot.take(p, 2);
    }
    assertEquals(3L * BATCH, pos);
    Snapshot.assertSame(expected, batches(load(CCVIT, "data.workers=3"), pos, 2), "resumed at " + pos);
  }

  @Test
  void ccvitMaskHas20AndReplacementHas5DisjointPositionsPerExample() {
    Recipe r = load(CCVIT, "data.workers=2");
    assertEquals(20, r.getMasking().getBlock().getNumMaskingPatches());
    assertEquals(5, r.getCcvit().getNumReplacedPatches());
    Set<String> distinctMasks = new HashSet<>();
    for (Snapshot s : batches(r, 0, 4)) {
      boolean[] mask = s.bools("mask");
      boolean[] rep = s.bools("replaced");
      assertEquals(s.size() * N, mask.length);
      for (int i = 0; i < s.size(); i++) {
        int m = 0;
        int k = 0;
        for (int j = 0; j < N; j++) {
          boolean a = mask[i * N + j];
          boolean b = rep[i * N + j];
          m += a ? 1 : 0;
          k += b ? 1 : 0;
          assertFalse(a && b, "example " + i + " patch " + j + " is both masked and replaced");
        }
        assertEquals(20, m, "masked patches of example " + i);
        assertEquals(5, k, "replaced patches of example " + i);
        distinctMasks.add(Arrays.toString(Arrays.copyOfRange(mask, i * N, (i + 1) * N)));
      }
      int[] label = s.ints("label");
      for (int i = 0; i < s.size(); i++) {
        assertTrue(label[i] >= 0 && label[i] < 10, "label " + label[i]);
      }
    }
    assertTrue(distinctMasks.size() > 50, "masks barely vary: " + distinctMasks.size() + " of 64");
  }

  @Test
  void mocaOrdersArePermutationsPerCopyWithTheComplementaryStructure() {
    Recipe r = load(MOCA, "data.workers=2");
    try (Pipeline p = PipelineFactory.training(r, MethodRegistry.pipelineStages(r), 0)) {
      assertEquals(List.of(2L, 49L), Arrays.stream(p.next().spec("order1").shape()).boxed().toList());
      Batch b = p.next();
      assertArrayEquals(new long[] {2, N}, b.spec("order2").shape());
      assertArrayEquals(new long[] {28, 28, 1}, b.spec("view1").shape());
      assertArrayEquals(new long[] {28, 28, 1}, b.spec("view2").shape());
      int[] o1 = b.ints("order1");
      int[] o2 = b.ints("order2");
      assertEquals(BATCH * 2 * N, o1.length);
      int[] identity = IntStream.range(0, N).toArray();
      // keep1 = floor(49 * 0.45) = 22, keep2 = floor(49 * 0.25) = 12, predicted = floor(49 * 0.205) = 10
      int keep1 = 22;
      int keep2 = 12;
      int pred = 10;
      for (int e = 0; e < BATCH; e++) {
        for (int c = 0; c < 2; c++) {
          int base = (e * 2 + c) * N;
          int[] a = Arrays.copyOfRange(o1, base, base + N);
          int[] z = Arrays.copyOfRange(o2, base, base + N);
          String where = "example " + e + " copy " + c;
          assertArrayEquals(identity, PipelineTest.sorted(a), where + ": order1 is not a permutation of 0..48");
          assertArrayEquals(identity, PipelineTest.sorted(z), where + ": order2 is not a permutation of 0..48");
          // both rounds predict the same tokens; round 2's visible ones are new
          assertArrayEquals(PipelineTest.sorted(Arrays.copyOfRange(a, keep1, keep1 + pred)),
              PipelineTest.sorted(Arrays.copyOfRange(z, keep2, keep2 + pred)), where + ": predicted sets differ");
          Set<Integer> seen1 = new HashSet<>();
          for (int j = 0; j < keep1 + pred; j++) {
            seen1.add(a[j]);
          }
          for (int j = 0; j < keep2; j++) {
            assertFalse(seen1.contains(z[j]), where + ": round-2 visible token " + z[j] + " was seen in round 1");
          }
        }
        assertFalse(Arrays.equals(Arrays.copyOfRange(o1, e * 2 * N, e * 2 * N + N),
            Arrays.copyOfRange(o1, e * 2 * N + N, e * 2 * N + 2 * N)), "example " + e + ": both copies equal");
      }
    }
  }

  // ---- views --------------------------------------------------------------------------------------

  static final String CROP_FLIP = """
      augment { random_resized_crop { size: 28 min_scale: 0.3 max_scale: 1.0 interpolation: BILINEAR } }
      augment { horizontal_flip { p: 0.5 } }
      """;
  static final String INVERT = "augment { solarize { p: 1.0 threshold: 0.0 } }\n";

  /**
   * Views: weak = crop + flip; strong = weak's geometry + solarize(p 1, threshold 0) = 1 - x;
   * other = its own crop + flip + the same solarize; echo = other's geometry with no op of its own.
   */
  Recipe viewsRecipe() throws IOException {
    String text = """
        name: "views"
        model { size: CUSTOM width: 32 depth: 2 num_heads: 2 image_size: 28 patch_size: 4 channels: 1 }
        data {
          source { kind: IDX path: "%s" labels_path: "%s" num_classes: 10 }
          view { name: "weak" %s }
          view { name: "strong" geometry_from: "weak" %s }
          view { name: "other" %s %s }
          view { name: "echo" geometry_from: "other" }
          workers: 2
        }
        masking { random { mask_ratio: 0.75 unit_size: 1 } }
        training { batch_size: %d steps: 10 }
        conmim { online_view: "weak" momentum_view: "strong" }
        """.formatted(TestData.TRAIN_IMAGES, TestData.TRAIN_LABELS, CROP_FLIP, INVERT, CROP_FLIP, INVERT, BATCH);
    Path file = dir.resolve("views.pbtxt");
    Files.writeString(file, text);
    return RecipeLoader.load(file, List.of());
  }

  @Test
  void aViewWithGeometryFromSharesCropAndFlipAndAnIndependentViewDoesNot() throws IOException {
    Recipe r = viewsRecipe();
    int per = 28 * 28;
    int independentDiffers = 0;
    int examples = 0;
    for (Snapshot s : batches(r, 0, 2)) {
      float[] weak = s.floats("weak");
      float[] strong = s.floats("strong");
      float[] other = s.floats("other");
      float[] echo = s.floats("echo");
      for (int i = 0; i < s.size(); i++, examples++) {
        boolean differs = false;
        float lo = Float.MAX_VALUE;
        float hi = -Float.MAX_VALUE;
        for (int j = i * per; j < (i + 1) * per; j++) {
          assertTrue(weak[j] >= 0f, "bilinear crop values stay >= 0 (else threshold 0 would not invert them)");
          assertEquals(Float.floatToRawIntBits(1f - weak[j]), Float.floatToRawIntBits(strong[j]),
              "example " + i + " pixel " + (j - i * per) + ": strong is not 1 - weak");
          // the sharing view starts from the geometry, not from the source view's photometric output
          assertEquals(Float.floatToRawIntBits(1f - echo[j]), Float.floatToRawIntBits(other[j]),
              "example " + i + " pixel " + (j - i * per) + ": other is not 1 - echo");
          differs |= Float.floatToRawIntBits(1f - other[j]) != Float.floatToRawIntBits(weak[j]);
          lo = Math.min(lo, weak[j]);
          hi = Math.max(hi, weak[j]);
        }
        assertTrue(hi - lo > 0.2f, "example " + i + " is blank: the check would be vacuous");
        independentDiffers += differs ? 1 : 0;
      }
    }
    assertEquals(examples, independentDiffers, "an independent view drew the same geometry as weak");
  }
}
