package org.mimtf.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.mimtf.export.SavedModelInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code mimtf inspect DIR}: what a SavedModel offers (tag-sets, signatures with dtypes, shapes and
 * tensor names, variables), printed like {@code saved_model_cli show --all}, so that a teacher
 * model can be checked without Python and without loading it. The last line is one JSON object
 * with the same summary ({@link SavedModelInfo#summary()}).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"Show the tag-sets, signatures (inputs and outputs with dtype, shape and tensor name) and "
        + "variables of a SavedModel, in the layout of saved_model_cli show --all.",
        "DIR may also be a folder of numbered versions (NAME/1, NAME/2, ...): the highest is shown."})
final class InspectCommand implements Runnable {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "DIR", description = "SavedModel directory, or a folder of numbered versions of one.")
  Path dir;

  @Override
  public void run() {
    SavedModelInfo info = SavedModelInfo.read(dir);
    PrintWriter out = spec.commandLine().getOut();
    out.print(info.format());
    out.println(info.summary());
    out.flush();
  }
}
