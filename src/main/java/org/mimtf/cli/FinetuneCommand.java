package org.mimtf.cli;

import org.mimtf.finetune.Finetuner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mimtf finetune}: end-to-end fine-tuning of the recipe's encoder as a classifier, then export. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
    description = {"Fine-tune a pre-trained encoder end to end as a classifier (the recipe's finetune { } "
        + "section): loads finetune.encoder (a SavedModel, a run directory, a checkpoint, or random_init), trains "
        + "with layer-wise lr decay, scores top-1/top-5 on finetune.test every finetune.eval_every_steps and at "
        + "the end, keeps the best checkpoint, and exports the classifier to finetune.export.",
        "Ctrl-C writes a checkpoint and stops; --resume continues exactly. The last line is JSON."})
final class FinetuneCommand implements Runnable {
  @Mixin RecipeOptions recipe;

  @Option(names = "--resume", description = "Continue from the run directory's latest checkpoint.")
  boolean resume;

  @Option(names = "--no-export", description = "Do not export the classifier at the end.")
  boolean noExport;

  @Option(names = "--stop-after", paramLabel = "STEP", description = "Checkpoint and stop after this step.")
  long stopAfter = -1;

  @Override
  public void run() {
    Finetuner.Summary s = new Finetuner(recipe.load(), System.out).resume(resume).export(!noExport)
        .stopAfter(stopAfter).run();
    System.out.println("TensorBoard: tensorboard --logdir " + s.train().runDir().resolve("events"));
    System.out.println(s.json());
  }
}
