package org.mimtf.cli;

import org.mimtf.config.proto.Recipe;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code mimtf tokenizer build|train}: the pre-MIM stage of the tokenizer-based methods. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true, description = "Build or train a tokenizer.",
    subcommands = {TokenizerCommand.Build.class})
final class TokenizerCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(name = "build", mixinStandardHelpOptions = true,
      description = "CCViT: k-means centroids of raw pixel patches (centroids.npy, centroids.png, a tokenizer "
          + "SavedModel) in ccvit.tokenizer.dir (default <run_dir>/tokenizer).")
  static final class Build implements Runnable {
    @Mixin RecipeOptions recipe;

    @Override
    public void run() {
      Recipe r = recipe.load();
      if (!r.hasCcvit()) {
        throw new UserException("tokenizer build makes CCViT's k-means tokenizer; the recipe's method is "
            + r.getMethodCase().name().toLowerCase() + " (BEiT v2 trains its tokenizer with 'tokenizer train')");
      }
      CentroidTokenizerBuilder.Built b = CentroidTokenizerBuilder.build(r, System.out);
      System.out.printf("tokenizer written to %s (centroids.npy, centroids.png, saved_model/)%n", b.dir());
      System.out.println(Json.obj().put("tokenizer_dir", b.dir().toString()).put("num_centroids", b.k())
          .put("points", b.points()).put("objective", b.objective()).put("usage", b.usage())
          .put("seconds", b.seconds()));
    }
  }
}
