package org.mimtf.data.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.methods.MethodRegistry;

/**
 * {@link DataPreview#write}: a PNG grid of one row per example and one column per view, then each view
 * again with the mask drawn over it. The overlay columns must equal the plain ones except on exactly
 * the masked (and, for CCViT, replaced) patches.
 */
class DataPreviewTest {
  static final int COUNT = 4;
  static final int SIZE = 28;
  static final int PATCH = 4;
  static final int SCALE = 112 / SIZE; // DataPreview's integer up-scaling of 28 x 28 cells
  static final int PAD = 2;
  static final int CELL = SIZE * SCALE + PAD;

  @TempDir Path dir;

  @ParameterizedTest(name = "{0}")
  @CsvSource({"ccvit_fmnist_small, 'image', mask|replaced", "conmim_fmnist_small, 'weak,strong', mask"})
  void overlayColumnsDifferFromThePlainOnesExactlyOnMaskedPatches(String name, String views, String masks)
      throws IOException {
    Recipe r = RecipeLoader.load(Path.of("graphs", name + ".pbtxt"), List.of("data.workers=2"));
    List<SampleStage> extra = MethodRegistry.pipelineStages(r);
    Path out = dir.resolve(name + ".png");
    List<String> columns = DataPreview.write(r, extra, COUNT, out);
    List<String> v = List.of(views.split(","));
    assertEquals(v.size() * 2, columns.size(), "columns " + columns);
    for (int j = 0; j < v.size(); j++) {
      assertEquals(v.get(j), columns.get(j));
      assertEquals(v.get(j) + "+mask", columns.get(v.size() + j));
    }

    BufferedImage png = ImageIO.read(out.toFile());
    assertNotNull(png, "not a readable PNG");
    assertEquals(columns.size() * CELL + PAD, png.getWidth());
    assertEquals(COUNT * CELL + PAD, png.getHeight());

    // The same batch again: the pipeline is a pure function of the recipe.
    int grid = SIZE / PATCH;
    boolean[] covered;
    try (Pipeline p = PipelineFactory.training(r.getData(), r.getModel(), r.getMasking(), COUNT,
        r.getTraining().getSeed(), extra, 0)) {
      Batch b = p.next();
      covered = new boolean[COUNT * grid * grid];
      for (String m : masks.split("\\|")) {
        boolean[] a = b.bools(m);
        for (int i = 0; i < covered.length; i++) {
          covered[i] |= a[i];
        }
      }
      // and the plain columns show the batch's pixels
      float[] img = b.floats(v.get(0));
      for (int i = 0; i < COUNT; i++) {
        for (int y = 0; y < SIZE; y += 9) {
          for (int x = 0; x < SIZE; x += 5) {
            int expected = Math.max(0, Math.min(255, Math.round(img[i * SIZE * SIZE + y * SIZE + x] * 255f)));
            assertEquals(expected, png.getRGB(PAD + x * SCALE, i * CELL + PAD + y * SCALE) & 0xff,
                "example " + i + " pixel (" + y + ", " + x + ")");
          }
        }
      }
    }

    int masked = 0;
    for (int i = 0; i < COUNT; i++) {
      for (int j = 0; j < v.size(); j++) {
        int plainX = j * CELL + PAD;
        int maskX = (v.size() + j) * CELL + PAD;
        int y0 = i * CELL + PAD;
        for (int y = 0; y < SIZE * SCALE; y++) {
          for (int x = 0; x < SIZE * SCALE; x++) {
            int patch = (y / SCALE / PATCH) * grid + x / SCALE / PATCH;
            boolean isMasked = covered[i * grid * grid + patch];
            boolean differs = png.getRGB(plainX + x, y0 + y) != png.getRGB(maskX + x, y0 + y);
            assertEquals(isMasked, differs, name + " example " + i + " view " + v.get(j) + " at (" + y + ", " + x
                + "), patch " + patch + (isMasked ? " is masked but not drawn" : " is drawn but not masked"));
            masked += isMasked ? 1 : 0;
          }
        }
      }
    }
    assertTrue(masked > 0, "no masked pixel: the comparison would be vacuous");
  }
}
