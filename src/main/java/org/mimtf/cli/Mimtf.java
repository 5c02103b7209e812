package org.mimtf.cli;

import org.mimtf.config.RecipeException;
import org.mimtf.data.BadInputException;
import org.mimtf.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine;

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

  /**
   * java.util.logging's format for mimtf's warnings (skipped inputs): one line, {@code mimtf: WARNING:
   * message}, instead of the default two lines of date and class. Set before the first log record
   * unless the user set {@code -Djava.util.logging.SimpleFormatter.format} already.
   */
  static final String LOG_FORMAT = "mimtf: %4$s: %5$s%6$s%n";

  /** Runs the command line and returns its exit code (tests call this instead of main). */
  public static int execute(String... args) {
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", LOG_FORMAT);
    }
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
