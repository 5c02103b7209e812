package org.mimtf.cli;

import org.mimtf.config.proto.Recipe;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code mimtf tokenizer build|train}: the pre-MIM stage of the tokenizer-based methods. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true, description = "Build or train a tokenizer.",
    subcommands = {TokenizerCommand.Build.class, TokenizerCommand.Train.class})
final class TokenizerCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(name = "train", mixinStandardHelpOptions = true,
      description = "BEiT v2: train the VQ-KD tokenizer against the teacher SavedModel of beitv2.tokenizer.teacher, "
          + "then export it to <tokenizer dir>/saved_model (default <run_dir>/tokenizer).")
  static final class Train implements Runnable {
    @Mixin RecipeOptions recipe;

    @picocli.CommandLine.Option(names = "--resume", description = "Continue the tokenizer run.")
    boolean resume;

    @Override
    public void run() {
      Recipe r = recipe.load();
      if (!r.hasBeitv2()) {
        throw new UserException("tokenizer train trains BEiT v2's VQ-KD tokenizer; the recipe's method is "
            + r.getMethodCase().name().toLowerCase() + " (CCViT builds its tokenizer with 'tokenizer build')");
      }
      var b = org.mimtf.methods.beitv2.VqkdTokenizer.train(r, resume, System.out);
      System.out.println(Json.obj().put("tokenizer_dir", b.dir().toString())
          .put("saved_model", b.savedModel().toString()).put("steps", b.run().step())
          .put("train_seconds", b.run().trainSeconds()).putAll(b.run().lastMetrics()));
    }
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
