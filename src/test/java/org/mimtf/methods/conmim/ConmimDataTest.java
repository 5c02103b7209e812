package org.mimtf.methods.conmim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.RecipeValidator;
import org.mimtf.config.proto.Augmentation;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.Solarize;
import org.mimtf.data.masking.RandomMaskGenerator;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.testing.TinyRecipes;

/**
 * ConMIM's data side: the weak and strong views share crop and flip (a test image with a known
 * pattern), the masks come in 2 × 2-patch units (37 units = 148 of 196 patches for ViT-B/L, 147 single
 * patches for ViT-S), and the shipped recipes carry the paper's Table 11 values.
 */
class ConmimDataTest {
  @TempDir Path dir;

  static Path graphs(String name) {
    return TinyRecipes.repoRoot().resolve("graphs").resolve(name);
  }

  /** An IDX image file of {@code count} copies of p(y, x) = (x + y) / 54, 8-bit. */
  static Path patternIdx(Path dir, int count) throws IOException {
    Path f = dir.resolve("pattern-images-idx3-ubyte");
    try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(f))) {
      out.writeInt(0x00000803);
      out.writeInt(count);
      out.writeInt(28);
      out.writeInt(28);
      for (int i = 0; i < count; i++) {
        for (int y = 0; y < 28; y++) {
          for (int x = 0; x < 28; x++) {
            out.writeByte(Math.round(255f * (x + y) / 54f));
          }
        }
      }
    }
    return f;
  }

  /**
   * The recipe's own weak view (RandomResizedCrop + flip) and, instead of its strong photometric ops,
   * an exact inversion (solarize p 1, threshold 0), so the strong view must be 1 − weak pixel for
   * pixel if and only if both views have the same crop and flip.
   */
  @Test
  void theTwoViewsShareCropAndFlip() throws IOException {
    Path idx = patternIdx(dir, 64);
    Recipe base = RecipeLoader.load(graphs("conmim_fmnist_small.pbtxt"), List.of(
        "data.source.path=" + idx, "data.source.labels_path=", "data.source.num_classes=0",
        "training.batch_size=32"));
    Recipe.Builder rb = base.toBuilder();
    rb.getDataBuilder().getViewBuilder(1).clearAugment().addAugment(Augmentation.newBuilder()
        .setSolarize(Solarize.newBuilder().setP(1f).setThreshold(0f)));
    Recipe r = rb.build();
    assertTrue(RecipeValidator.validate(r).isEmpty(), RecipeValidator.validate(r).toString());
    int per = 28 * 28;
    int flipped = 0;
    int cropped = 0;
    int examples = 0;
    try (Pipeline p = PipelineFactory.training(r, List.of(), 0)) {
      for (int batch = 0; batch < 2; batch++) {
        Batch b = p.next();
        float[] weak = b.floats("weak");
        float[] strong = b.floats("strong");
        for (int i = 0; i < b.size(); i++, examples++) {
          for (int j = i * per; j < (i + 1) * per; j++) {
            float want = weak[j] >= 0f ? 1f - weak[j] : weak[j];
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(strong[j]),
                "example " + i + " pixel " + (j - i * per) + ": strong is not the inverted weak view");
          }
          // flip: the pattern grows to the right; flipped, to the left (row 14, columns 2 and 25)
          float left = weak[i * per + 14 * 28 + 2];
          float right = weak[i * per + 14 * 28 + 25];
          flipped += left > right ? 1 : 0;
          // crop: the uncropped pattern spans 0 .. 1 along its diagonal; a crop of scale < 1 less
          float lo = Float.MAX_VALUE;
          float hi = -Float.MAX_VALUE;
          for (int j = i * per; j < (i + 1) * per; j++) {
            lo = Math.min(lo, weak[j]);
            hi = Math.max(hi, weak[j]);
          }
          cropped += hi - lo < 0.97f ? 1 : 0;
        }
      }
    }
    assertTrue(flipped > 10 && flipped < examples - 10, flipped + " of " + examples + " flipped");
    assertTrue(cropped > examples / 2, cropped + " of " + examples + " cropped");
  }

  @Test
  void masksAreRandomUnitsWithAFixedCount() {
    for (String name : List.of("conmim_vit_b16.pbtxt", "conmim_vit_l16.pbtxt")) {
      Recipe r = RecipeLoader.load(graphs(name), List.of());
      RandomMaskGenerator g = RandomMaskGenerator.fromConfig(r.getMasking().getRandom(), 14, 14);
      assertEquals(37, g.numMaskedUnits(), name + ": ceil(0.75 x 49) units of 2 x 2 patches");
      assertEquals(148, g.numMasked(), name + ": 37 units expand to 148 of 196 patches");
      boolean[] mask = g.generate(new java.util.SplittableRandom(3));
      int count = 0;
      for (int uy = 0; uy < 7; uy++) {
        for (int ux = 0; ux < 7; ux++) {
          boolean m = mask[(2 * uy) * 14 + 2 * ux];
          count += m ? 4 : 0;
          for (int d = 0; d < 4; d++) {
            assertEquals(m, mask[(2 * uy + d / 2) * 14 + 2 * ux + d % 2], name + " unit " + uy + "," + ux);
          }
        }
      }
      assertEquals(148, count);
    }
    RandomMaskGenerator s = RandomMaskGenerator.fromConfig(
        RecipeLoader.load(graphs("conmim_vit_s16.pbtxt"), List.of()).getMasking().getRandom(), 14, 14);
    assertEquals(147, s.numMasked(), "ViT-S: single-patch units, ceil(0.75 x 196)");
    // the small recipe through its pipeline: 37 of 49 in every image
    Recipe small = RecipeLoader.load(graphs("conmim_fmnist_small.pbtxt"), List.of("training.batch_size=16"));
    try (Pipeline p = PipelineFactory.training(small, List.of(), 0)) {
      boolean[] m = p.next().bools("mask");
      for (int i = 0; i < 16; i++) {
        int c = 0;
        for (int j = 0; j < 49; j++) {
          c += m[i * 49 + j] ? 1 : 0;
        }
        assertEquals(37, c, "image " + i);
      }
    }
  }

  /** Paper App. A Table 11 (S / B / L) in the shipped recipes. */
  @Test
  void recipesFollowTable11() {
    Object[][] table = {
        // file, epochs, drop path, mask unit, clip, layer scale
        {"conmim_vit_s16.pbtxt", 300f, 0.1f, 1, 3f, 0.1f},
        {"conmim_vit_b16.pbtxt", 800f, 0f, 2, 3f, 0.1f},
        {"conmim_vit_l16.pbtxt", 800f, 0f, 2, 1f, 1e-5f},
    };
    for (Object[] row : table) {
      Recipe r = RecipeLoader.load(graphs((String) row[0]), List.of());
      String f = (String) row[0];
      assertEquals((float) row[1], r.getTraining().getEpochs(), f);
      assertEquals((float) row[2], r.getModel().getDropPathRate(), f);
      assertEquals((int) row[3], r.getMasking().getRandom().getUnitSize(), f);
      assertEquals(0.75f, r.getMasking().getRandom().getMaskRatio(), f);
      assertEquals((float) row[4], r.getOptimizer().getClipGradNorm(), f);
      assertEquals((float) row[5], r.getModel().getLayerScaleInit(), f);
      assertEquals(2048, r.getTraining().getBatchSize() * r.getTraining().getGradAccumSteps(), f + ": batch 2048");
      assertEquals(5e-4f, r.getSchedule().getBaseLr(), f);
      assertEquals(1e-5f, r.getSchedule().getMinLr(), f);
      assertEquals(10f, r.getSchedule().getWarmupEpochs(), f);
      assertEquals(0.9f, r.getOptimizer().getBeta1(), f);
      assertEquals(0.98f, r.getOptimizer().getBeta2(), f);
      assertEquals(0.05f, r.getOptimizer().getWeightDecay(), f);
      assertEquals(0.1f, r.getConmim().getTemperature(), f);
      assertEquals(0.996f, r.getConmim().getTeacherMomentum(), f);
      assertEquals(1f, r.getConmim().getTeacherMomentumEnd(), f);
      assertEquals(4096, r.getConmim().getProjector().getHiddenDim(), f);
      assertEquals(256, r.getConmim().getProjector().getOutputDim(), f);
      assertEquals(3, r.getConmim().getProjector().getNumLayers(), f);
      assertEquals(224, r.getModel().getImageSize(), f);
      assertEquals(16, r.getModel().getPatchSize(), f);
      var strong = r.getData().getView(1);
      assertEquals("weak", strong.getGeometryFrom(), f);
      var jitter = strong.getAugment(0).getColorJitter();
      assertEquals(List.of(0.4f, 0.4f, 0.2f, 0.1f, 0.8f), List.of(jitter.getBrightness(), jitter.getContrast(),
          jitter.getSaturation(), jitter.getHue(), jitter.getP()), f);
      assertEquals(0.2f, strong.getAugment(1).getGrayscale().getP(), f);
      assertEquals(0.1f, strong.getAugment(2).getGaussianBlur().getP(), f);
      assertEquals(0.2f, strong.getAugment(3).getSolarize().getP(), f);
      assertEquals(2, r.getData().getView(0).getAugmentCount(), f + ": the weak view has crop and flip only");
    }
  }

  @Test
  void aMomentumViewWithItsOwnGeometryIsRejected() {
    Recipe r = RecipeLoader.load(graphs("conmim_fmnist_small.pbtxt"), List.of());
    Recipe.Builder b = r.toBuilder();
    b.getDataBuilder().getViewBuilder(1).clearGeometryFrom();
    List<String> problems = RecipeValidator.validate(b.build());
    assertTrue(problems.stream().anyMatch(p -> p.contains("must share the online view's crop and flip")),
        problems.toString());
    // the symmetric ablation (both encoders see the weak view) is allowed
    assertTrue(RecipeValidator.validate(RecipeLoader.load(graphs("conmim_fmnist_small.pbtxt"),
        List.of("conmim.momentum_view=weak"))).isEmpty());
  }
}
