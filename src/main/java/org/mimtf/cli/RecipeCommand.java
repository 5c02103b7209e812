package org.mimtf.cli;

import com.google.protobuf.TextFormat;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.util.UserException;
import org.mimtf.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mimtf recipe show|check}: the resolved recipe, and validation of recipe files. */
@Command(name = "recipe", description = "Show or check recipes.", mixinStandardHelpOptions = true,
    subcommands = {RecipeCommand.Show.class, RecipeCommand.Check.class})
final class RecipeCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = "Print the resolved recipe: every default and derived value written out.")
  static final class Show implements Runnable {
    @Parameters(paramLabel = "FILE", description = "Recipe file.")
    Path file;

    @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a field (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Override
    public void run() {
      Recipe r = RecipeLoader.load(file, overrides);
      System.out.print(TextFormat.printer().printToString(r));
      java.util.Optional<org.mimtf.cluster.ClusterSpec> cluster =
          org.mimtf.cluster.ClusterSpec.fromEnvironment(r.getTraining(), null, null);
      cluster.ifPresent(c -> System.out.print("# " + c.describe().replace("\n", "\n# ").replaceAll("# $", "")));
      System.out.println(Json.obj().put("recipe", file.toString()).put("name", r.getName())
          .put("method", r.getMethodCase().name().toLowerCase()).put("valid", true)
          .put("cluster_tasks", cluster.map(c -> c.tasks().size()).orElse(1)));
    }
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Parse and validate recipe files; report every problem.")
  static final class Check implements Runnable {
    @Parameters(paramLabel = "FILE", arity = "1..*", description = "Recipe files.")
    List<Path> files;

    @Override
    public void run() {
      int bad = 0;
      for (Path f : files) {
        try {
          Recipe r = RecipeLoader.load(f, List.of());
          System.out.println("ok    " + f + " (" + r.getMethodCase().name().toLowerCase() + ")");
        } catch (org.mimtf.config.RecipeException e) {
          bad++;
          System.out.println("FAIL  " + e.getMessage());
        }
      }
      System.out.println(Json.obj().put("checked", files.size()).put("failed", bad));
      if (bad > 0) {
        throw new UserException(bad + " of " + files.size() + " recipes are invalid");
      }
    }
  }
}
