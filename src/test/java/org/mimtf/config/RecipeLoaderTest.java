package org.mimtf.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.Recipe;

class RecipeLoaderTest {
  @TempDir Path dir;

  /** A small valid CCViT recipe on 28x28 grayscale images. */
  static final String SMALL = """
      name: "t"
      model { size: CUSTOM width: 64 depth: 4 num_heads: 2 image_size: 28 patch_size: 4 channels: 1 }
      data { source { kind: IDX path: "train.gz" } }
      masking { block { num_masking_patches: 20 min_num_patches: 4 } }
      training { batch_size: 8 steps: 10 }
      ccvit { num_replaced_patches: 5 early_layers: 3 tokenizer { num_centroids: 16 } }
      """;

  private Path write(String name, String text) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  private RecipeException loadFails(String text, String... overrides) throws IOException {
    Path p = write("r.pbtxt", text);
    return assertThrows(RecipeException.class, () -> RecipeLoader.load(p, List.of(overrides)));
  }

  @Test
  void smallRecipeLoadsAndResolvesDerivedValues() throws IOException {
    Recipe r = RecipeLoader.load(write("r.pbtxt", SMALL), List.of());
    assertEquals(64 * 4, r.getModel().getMlpDim());
    assertEquals(1, r.getModel().getInputMeanCount());
    assertEquals(1, r.getData().getViewCount(), "a default view is added");
    assertEquals("image", r.getData().getView(0).getName());
    assertEquals("runs/t", r.getTraining().getRunDir());
    // relative data path resolved against the recipe's folder
    assertEquals(dir.resolve("train.gz").toString(), r.getData().getSource().getPath());
    // defaults are written out explicitly
    assertTrue(r.getOptimizer().hasBeta2());
  }

  @Test
  void namedSizeFillsDimensionsAndExplicitFieldsOverride() throws IOException {
    Recipe r = RecipeLoader.load(write("r.pbtxt", SMALL.replace("size: CUSTOM width: 64 depth: 4 num_heads: 2",
        "size: SMALL depth: 4")), List.of());
    ModelConfig m = r.getModel();
    assertEquals(384, m.getWidth());
    assertEquals(4, m.getDepth());
    assertEquals(6, m.getNumHeads());
  }

  @Test
  void maskRatioBecomesAPatchCount() throws IOException {
    Recipe r = RecipeLoader.load(write("r.pbtxt", SMALL.replace("num_masking_patches: 20", "mask_ratio: 0.4")),
        List.of());
    // the resolver owns the ratio -> count (half to even, BlockMaskGenerator.countFromRatio): 19.6 -> 20,
    // and the cap max_num_patches 0 -> M
    assertEquals(20, r.getMasking().getBlock().getNumMaskingPatches());
    assertEquals(20, r.getMasking().getBlock().getMaxNumPatches());
  }

  @Test
  void halfMaskRatioRoundsToEvenOnce() throws IOException {
    // 0.5 * 49 = 24.5 -> 24: the resolver's count is the one the pipeline's generator draws
    Recipe r = RecipeLoader.load(write("r.pbtxt", SMALL.replace("num_masking_patches: 20", "mask_ratio: 0.5")),
        List.of());
    assertEquals(24, r.getMasking().getBlock().getNumMaskingPatches());
    assertEquals(24, org.mimtf.data.masking.BlockMaskGenerator.fromConfig(r.getMasking().getBlock(), 7, 7)
        .numMasking());
  }

  @Test
  void mocaVisibleTokenCountsAreResolvedOnce() {
    Recipe r = RecipeLoader.load(Path.of("graphs/moca_fmnist_small.pbtxt"), List.of(
        "masking.complementary.first_mask_ratio=0.55", "masking.complementary.second_mask_ratio=0.75",
        "masking.complementary.partial_decoding_ratio=0.2"));
    var c = r.getMasking().getComplementary();
    // 49 patches, ratios 0.55 / 0.75 / 0.2: floor(49 * 0.45) = 22, floor(49 * 0.25) = 12, floor(9.8) = 9
    assertEquals(22, c.getNumVisibleFirst());
    assertEquals(12, c.getNumVisibleSecond());
    assertEquals(9, c.getNumPredicted());
  }

  @Test
  void labelsPathOfAnotherSourceKindIsRejected() throws IOException {
    String idx = SMALL.replace("path: \"train.gz\"", "path: \"train.gz\" labels_path: \"labels.gz\"");
    assertEquals(dir.resolve("labels.gz").toString(),
        RecipeLoader.load(write("r.pbtxt", idx), List.of()).getData().getSource().getLabelsPath());
    RecipeException e = loadFails(idx, "data.source.kind=IMAGE_FOLDER");
    assertTrue(e.getMessage().contains("data.source.labels_path (\"" + dir.resolve("labels.gz")
        + "\") is only read by IDX sources, but data.source.kind is IMAGE_FOLDER"), e.getMessage());
    assertTrue(loadFails(idx, "data.source.kind=TFRECORD").getMessage().contains("data.source.labels_path"));
  }

  @Test
  void syntheticSourceSettingsAreChecked() throws IOException {
    RecipeException e = loadFails(SMALL, "data.source.kind=SYNTHETIC", "data.source.synthetic_size=0",
        "data.source.synthetic_jpeg_quality=101", "data.source.max_skipped=-1");
    assertTrue(e.getMessage().contains("data.source.synthetic_size (0) must be > 0"), e.getMessage());
    assertTrue(e.getMessage().contains("data.source.synthetic_jpeg_quality (101) must be in [1, 100]"),
        e.getMessage());
    assertTrue(e.getMessage().contains("data.source.max_skipped (-1) must be >= 0"), e.getMessage());
  }

  @Test
  void unknownFieldIsRejectedWithFileLineAndSuggestion() throws IOException {
    RecipeException e = loadFails(SMALL.replace("batch_size: 8", "batch_sise: 8"));
    assertTrue(e.getMessage().contains("r.pbtxt:5:"), e.getMessage());
    assertTrue(e.getMessage().contains("unknown field \"batch_sise\" in TrainingConfig"), e.getMessage());
    assertTrue(e.getMessage().contains("did you mean \"batch_size\""), e.getMessage());
  }

  @Test
  void emptyRecipeIsRejectedNamingEveryMissingPart() throws IOException {
    RecipeException e = loadFails("");
    assertTrue(e.getMessage().contains("no method"), e.getMessage());
    assertTrue(e.getMessage().contains("data.source.kind is not set"), e.getMessage());
  }

  @Test
  void patchSizeNotDividingImageSizeIsRejected() throws IOException {
    RecipeException e = loadFails(SMALL.replace("patch_size: 4", "patch_size: 5"));
    assertTrue(e.getMessage().contains("model.patch_size (5) must divide model.image_size (28)"), e.getMessage());
  }

  @Test
  void ratioOutsideUnitIntervalIsRejected() throws IOException {
    RecipeException e = loadFails(SMALL, "masking.block.mask_ratio=1.5");
    assertTrue(e.getMessage().contains("masking.block.mask_ratio (1.5) must be in [0, 1)"), e.getMessage());
  }

  @Test
  void maskedPlusReplacedBeyondTheGridIsRejected() throws IOException {
    RecipeException e = loadFails(SMALL, "ccvit.num_replaced_patches=40");
    assertTrue(e.getMessage().contains("masked (20) + ccvit.num_replaced_patches (40) = 60 exceeds the 49 patches"),
        e.getMessage());
  }

  @Test
  void linearProbeSearchSettingsAreChecked() throws IOException {
    RecipeException e = loadFails(SMALL, "eval.linear_validation_fraction=1.0",
        "eval.linear_weight_decay_grid=[1e-4, -1]", "eval.linear_select_weight_decay=true",
        "eval.linear_solver=ADAM");
    assertTrue(e.getMessage().contains("eval.linear_validation_fraction (1.0) must be in (0, 1)"), e.getMessage());
    assertTrue(e.getMessage().contains("eval.linear_weight_decay_grid[1] (-1.0) must be a finite value >= 0"),
        e.getMessage());
    assertTrue(e.getMessage().contains("eval.linear_select_weight_decay needs eval.linear_solver LBFGS"),
        e.getMessage());
    assertEquals(List.of(1e-3f, 1e-1f), RecipeLoader.load(write("r.pbtxt", SMALL),
        List.of("eval.linear_select_weight_decay=true", "eval.linear_weight_decay_grid=[1e-3, 0.1]"))
        .getEval().getLinearWeightDecayGridList());
  }

  @Test
  void missingDataPathIsRejected() throws IOException {
    RecipeException e = loadFails(SMALL.replace("path: \"train.gz\"", ""));
    assertTrue(e.getMessage().contains("data.source.path is missing"), e.getMessage());
  }

  @Test
  void widthNotDivisibleByHeadsIsRejected() throws IOException {
    RecipeException e = loadFails(SMALL, "model.num_heads=3");
    assertTrue(e.getMessage().contains("model.width (64) must be divisible by model.num_heads (3)"), e.getMessage());
  }

  @Test
  void overridesSetScalarsEnumsListsAndRepeatedMessages() throws IOException {
    Recipe r = RecipeLoader.load(write("r.pbtxt", SMALL), List.of(
        "training.batch_size=64",
        "model.qkv_bias=QKV_BIAS",
        "model.input_mean=[0.25]",
        "model.input_std=[0.5]",
        "data.view[0].name=weak",
        "name=renamed"));
    assertEquals(64, r.getTraining().getBatchSize());
    assertEquals(ModelConfig.QkvBias.QKV_BIAS, r.getModel().getQkvBias());
    assertEquals(List.of(0.25f), r.getModel().getInputMeanList());
    assertEquals("renamed", r.getName());
  }

  @Test
  void overrideOfUnknownFieldNamesTheOverride() throws IOException {
    RecipeException e = loadFails(SMALL, "training.batchsize=3");
    assertTrue(e.getMessage().startsWith("--set training.batchsize=3: unknown field 'batchsize' in mimtf.TrainingConfig"),
        e.getMessage());
  }

  @Test
  void overrideWithBadValueNamesTheTypeExpected() throws IOException {
    RecipeException e = loadFails(SMALL, "training.batch_size=lots");
    assertTrue(e.getMessage().contains("bad value for batch_size (int32)"), e.getMessage());
    RecipeException e2 = loadFails(SMALL, "model.qkv_bias=SOMETIMES");
    assertTrue(e2.getMessage().contains("QV_BIAS|QKV_BIAS|NO_QKV_BIAS"), e2.getMessage());
  }

  @Test
  void geometryFromMustNameAnEarlierViewAndCarryNoGeometry() throws IOException {
    String views = """
        data { source { kind: IDX path: "x" }
          view { name: "weak" augment { random_resized_crop { } } }
          view { name: "strong" geometry_from: "weak" augment { horizontal_flip { } } augment { solarize { } } }
          view { name: "other" geometry_from: "nope" }
        }
        """;
    RecipeException e = loadFails(SMALL.replace("data { source { kind: IDX path: \"train.gz\" } }", views));
    assertTrue(e.getMessage().contains("data.view[1].augment[0]: a view with geometry_from"), e.getMessage());
    assertTrue(e.getMessage().contains("data.view[2].geometry_from (\"nope\") must name an earlier view"),
        e.getMessage());
  }

  @Test
  void photometricBeforeGeometricIsRejected() throws IOException {
    String views = """
        data { source { kind: IDX path: "x" }
          view { name: "image" augment { solarize { } } augment { horizontal_flip { } } }
        }
        """;
    RecipeException e = loadFails(SMALL.replace("data { source { kind: IDX path: \"train.gz\" } }", views));
    assertTrue(e.getMessage().contains("data.view[0].augment[1]: geometric ops"), e.getMessage());
  }

  @Test
  void missingRecipeFileIsNamed() {
    RecipeException e = assertThrows(RecipeException.class,
        () -> RecipeLoader.load(dir.resolve("nope.pbtxt"), List.of()));
    assertTrue(e.getMessage().endsWith("nope.pbtxt: no such recipe file"), e.getMessage());
  }

  @Test
  void editDistanceCountsEdits() {
    assertEquals(1, RecipeLoader.editDistance("batch_sise", "batch_size"));
    assertEquals(3, RecipeLoader.editDistance("kitten", "sitting"));
    assertFalse(RecipeLoader.explain("something else").contains("did you mean"));
  }
}
