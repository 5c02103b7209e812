package org.mimtf.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import picocli.CommandLine.Option;

/** The {@code --recipe FILE} and {@code --set path=value} options shared by most subcommands. */
final class RecipeOptions {
  @Option(names = {"-r", "--recipe"}, required = true, paramLabel = "FILE",
      description = "Recipe (protobuf text format), e.g. graphs/ccvit_fmnist_small.pbtxt.")
  Path recipe;

  @Option(names = "--set", paramLabel = "PATH=VALUE",
      description = "Override a recipe field, e.g. --set training.batch_size=64 (repeatable).")
  List<String> overrides = new ArrayList<>();

  Recipe load() {
    return RecipeLoader.load(recipe, overrides);
  }
}
