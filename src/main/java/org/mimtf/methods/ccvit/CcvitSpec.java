package org.mimtf.methods.ccvit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.mimtf.api.InputPaths;
import org.mimtf.api.MethodSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.api.RecipeChecks;
import org.mimtf.config.proto.CcvitConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.data.pipeline.Stages;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.util.Npy;
import org.mimtf.util.UserException;

/**
 * CCViT's recipe rules, its replacement stage and its k-means tokenizer artifact
 * ({@code centroids.npy}, made by {@code mimtf tokenizer build}).
 */
public final class CcvitSpec implements MethodSpec {
  @Override
  public void validate(Recipe r, RecipeChecks v) {
    CcvitConfig c = r.getCcvit();
    int n = RecipeChecks.grid(r) * RecipeChecks.grid(r);
    v.require(r.getMasking().hasBlock(), "ccvit needs masking.block { } (BEiT block-wise masking), got %s",
        r.getMasking().getGeneratorCase());
    if (r.getMasking().hasBlock()) {
      int m = r.getMasking().getBlock().getNumMaskingPatches();
      v.require(m + c.getNumReplacedPatches() <= n,
          "masked (%s) + ccvit.num_replaced_patches (%s) = %s exceeds the %s patches of the grid", m,
          c.getNumReplacedPatches(), m + c.getNumReplacedPatches(), n);
      v.require(r.getMasking().getBlock().getExactCount(),
          "ccvit needs masking.block.exact_count: true (its losses assume a fixed count per image)");
    }
    v.require(c.getNumReplacedPatches() >= 0, "ccvit.num_replaced_patches (%s) must be >= 0",
        c.getNumReplacedPatches());
    v.earlyLayer("ccvit.early_layers", c.getEarlyLayers(), r.getModel());
    v.decoder("ccvit.pixel_head", c.getPixelHead(), r.getModel());
    CcvitConfig.Tokenizer t = c.getTokenizer();
    v.require(t.getNumCentroids() >= 2, "ccvit.tokenizer.num_centroids (%s) must be >= 2", t.getNumCentroids());
    v.require(t.getIterations() >= 1, "ccvit.tokenizer.iterations (%s) must be >= 1", t.getIterations());
  }

  /** {@code ccvit.tokenizer.dir}. */
  @Override
  public void resolveInputs(Recipe.Builder b, InputPaths paths) {
    var t = b.getCcvit().getTokenizer();
    if (!t.getDir().isEmpty()) {
      b.getCcvitBuilder().getTokenizerBuilder().setDir(paths.input(t.getDir()));
    }
  }

  /** The replacement corruption: {@code num_replaced_patches} unmasked patches marked in {@code replaced}. */
  @Override
  public List<SampleStage> pipelineStages(Recipe r) {
    int g = RecipeChecks.grid(r);
    return List.of(Stages.replacement("replaced", "mask", g * g, r.getCcvit().getNumReplacedPatches()));
  }

  @Override
  public MimMethod create(Recipe r) {
    Path file = CentroidTokenizerBuilder.dir(r).resolve("centroids.npy");
    if (!Files.exists(file)) {
      throw new UserException("no CCViT tokenizer at " + file + ": build it first with\n  scripts/mimtf tokenizer "
          + "build --recipe <this recipe>\n(or point ccvit.tokenizer.dir at an existing tokenizer folder)");
    }
    Npy.Array a = Npy.read(file);
    int k = r.getCcvit().getTokenizer().getNumCentroids();
    if (a.shape().length != 2 || a.shape()[0] != k) {
      throw new UserException(file + " holds centroids of shape " + Arrays.toString(a.shape())
          + " but ccvit.tokenizer.num_centroids is " + k + "; rebuild the tokenizer");
    }
    return new CcvitMethod(r, a.data(), k);
  }
}
