package org.mimtf.cli;

import java.nio.file.Path;
import java.util.List;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.recipe.DataBench;
import org.mimtf.data.recipe.DataPreview;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mimtf data preview|bench}. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Look at and measure the input pipeline.",
    subcommands = {DataCommand.Preview.class, DataCommand.Bench.class})
final class DataCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(name = "preview", mixinStandardHelpOptions = true,
      description = "Write a PNG grid of training examples: each view, and each view with its mask drawn over it.")
  static final class Preview implements Runnable {
    @Mixin RecipeOptions recipe;

    @Option(names = "--count", description = "Examples (rows), default ${DEFAULT-VALUE}.")
    int count = 8;

    @Option(names = "--out", paramLabel = "PNG", description = "Output file (default <run_dir>/preview.png).")
    Path out;

    @Override
    public void run() {
      Recipe r = recipe.load();
      Path file = out != null ? out : Path.of(r.getTraining().getRunDir()).resolve("preview.png");
      List<String> cols = DataPreview.write(r, MethodRegistry.pipelineStages(r), count, file);
      System.out.println("preview of " + count + " examples, columns " + cols + ": " + file);
      System.out.println(Json.obj().put("preview", file.toString()).put("examples", count).put("columns", cols));
    }
  }

  @Command(name = "bench", mixinStandardHelpOptions = true,
      description = "Images/s of decode + RandomResizedCrop(224) + flip + ColorJitter + normalise + block mask "
          + "on synthetic JPEGs.")
  static final class Bench implements Runnable {
    @Option(names = "--images", description = "Synthetic JPEGs, default ${DEFAULT-VALUE}.")
    int images = 512;

    @Option(names = "--size", description = "Their side in pixels, default ${DEFAULT-VALUE}.")
    int size = 256;

    @Option(names = "--batch", description = "Batch size, default ${DEFAULT-VALUE}.")
    int batch = 64;

    @Option(names = "--workers", description = "Map workers, default ${DEFAULT-VALUE}.")
    int workers = 2;

    @Option(names = "--epochs", description = "Timed passes over the images, default ${DEFAULT-VALUE}.")
    int epochs = 3;

    @Option(names = "--decoder", description = "TENSORFLOW, JAVA or BOTH (default ${DEFAULT-VALUE}).")
    String decoder = "TENSORFLOW";

    @Override
    public void run() {
      DataBench.Figures main = null;
      DataBench.Figures other = null;
      if (decoder.equalsIgnoreCase("BOTH") || decoder.equalsIgnoreCase("JAVA")) {
        other = DataBench.run(images, size, batch, workers, epochs, DataConfig.Decoder.JAVA, System.out);
      }
      if (!decoder.equalsIgnoreCase("JAVA")) {
        main = DataBench.run(images, size, batch, workers, epochs, DataConfig.Decoder.TENSORFLOW, System.out);
      } else {
        main = other;
        other = null;
      }
      Json.Obj o = Json.obj().put("bench", "data").put("images_per_s", main.imagesPerSec()).put("decoder", main.decoder())
          .put("workers", workers).put("batch", batch).put("images", main.images()).put("seconds", main.seconds());
      if (other != null) {
        o.put("images_per_s_java_decoder", other.imagesPerSec());
      }
      System.out.println(o);
    }
  }
}
