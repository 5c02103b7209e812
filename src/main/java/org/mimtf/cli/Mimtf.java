package org.mimtf.cli;

import org.mimtf.config.RecipeException;
import org.mimtf.data.BadInputException;
import org.mimtf.util.UserException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code mimtf} command line. Each subcommand prints progress for people and, as its last line,
 * one JSON object with its results for scripts.
 *
 * <p>Errors that are the user's to fix (a bad recipe, unreadable data, a missing artifact) print one
 * clear message and exit with status 2; {@code --debug} adds the stack trace.
 */
@Command(
    name = "mimtf",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Masked-image-modeling pre-training of Vision Transformers with TensorFlow Java.",
    subcommands = {
      QuickstartCommand.class,
      RecipeCommand.class,
      DataCommand.class,
      TokenizerCommand.class,
      PretrainCommand.class,
      FinetuneCommand.class,
      ExportCommand.class,
      EvalCommand.class,
      InspectCommand.class,
      BenchCommand.class,
      DoctorCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Mimtf implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int execute(String... args) {
    boolean debug = false;
    for (String a : args) {
      debug |= a.equals("--debug");
    }
    boolean showStack = debug;
    String[] rest = java.util.Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
    CommandLine cl = new CommandLine(new Mimtf());
    cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
      if (isUserError(ex) && !showStack) {
        cmd.getErr().println("mimtf: " + ex.getMessage());
        return 2;
      }
      ex.printStackTrace(cmd.getErr());
      return isUserError(ex) ? 2 : 1;
    });
    return cl.execute(rest);
  }

  static boolean isUserError(Throwable t) {
    return t instanceof RecipeException || t instanceof BadInputException || t instanceof UserException;
  }
}
