package org.mimtf.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.mimtf.export.SavedModelInfo;
import org.mimtf.util.Json;
import org.mimtf.util.Npy;
import org.mimtf.util.UserException;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mimtf features}: runs any SavedModel's {@code serving_default} on a NumPy array, so scripts
 * can embed images or compare an export with another framework's numbers.
 */
@Command(name = "features", mixinStandardHelpOptions = true,
    description = "Run a SavedModel's serving signature on an NHWC float32 .npy and write each output as "
        + "PREFIX<output name>.npy.")
final class FeaturesCommand implements Runnable {
  @Option(names = "--saved-model", required = true, paramLabel = "DIR", description = "SavedModel folder (mimtf's "
      + "export or any other with a float32 image input).")
  Path savedModel;

  @Option(names = "--input", required = true, paramLabel = "X.npy", description = "float32 images [B, H, W, C].")
  Path input;

  @Option(names = "--out", required = true, paramLabel = "PREFIX", description = "Output prefix, e.g. out/feat_ "
      + "(writes out/feat_cls.npy, ...).")
  String out;

  @Option(names = "--signature", paramLabel = "KEY", description = "Signature key (default serving_default).")
  String signature = "serving_default";

  @Override
  public void run() {
    SavedModelInfo info = SavedModelInfo.read(savedModel);
    SavedModelInfo.MetaGraph mg = info.metaGraph("serve").orElseThrow(() -> new UserException(savedModel
        + ": no MetaGraph tagged 'serve'"));
    SavedModelInfo.Signature sig = mg.signature(signature).orElseThrow(() -> new UserException(savedModel
        + ": no signature '" + signature + "' (has " + mg.signatures().keySet() + ")"));
    if (sig.inputs().size() != 1) {
      throw new UserException(savedModel + ": signature '" + signature + "' has inputs " + sig.inputs().keySet()
          + "; features feeds exactly one image input");
    }
    var in = sig.inputs().values().iterator().next();
    String inputKey = sig.inputs().firstKey();
    if (!in.dtype().equals("DT_FLOAT")) {
      throw new UserException(savedModel + ": input '" + inputKey + "' is " + in.dtype() + ", expected DT_FLOAT");
    }
    Npy.Array x = Npy.read(input);
    if (!in.unknownRank() && in.dims().size() != x.shape().length) {
      throw new UserException(input + ": shape " + java.util.Arrays.toString(x.shape()) + " does not fit input '"
          + inputKey + "' " + in.shapeString());
    }
    for (int i = 0; !in.unknownRank() && i < x.shape().length; i++) {
      long want = in.dims().get(i);
      if (want >= 0 && want != x.shape()[i]) {
        throw new UserException(input + ": shape " + java.util.Arrays.toString(x.shape()) + " does not fit input '"
            + inputKey + "' " + in.shapeString());
      }
    }
    List<Map<String, Object>> written = new ArrayList<>();
    try (SavedModelBundle b = SavedModelBundle.load(info.dir().toString(), "serve");
        TFloat32 t = TFloat32.tensorOf(Shape.of(x.shape()), DataBuffers.of(x.data(), true, false))) {
      SessionFunction fn = b.function(signature);
      try (Result r = fn.call(Map.of(inputKey, t))) {
        Path parent = Path.of(out + "x").toAbsolutePath().getParent();
        Files.createDirectories(parent);
        for (String name : sig.outputs().keySet()) {
          Tensor o = r.get(name).orElseThrow(() -> new UserException(savedModel + ": output '" + name
              + "' was not produced"));
          if (!(o instanceof TFloat32 f)) {
            throw new UserException(savedModel + ": output '" + name + "' is " + o.dataType() + "; features writes "
                + "float32 outputs only");
          }
          float[] v = new float[(int) f.shape().size()];
          f.asRawTensor().data().asFloats().read(v);
          Path file = Path.of(out + name + ".npy");
          Npy.write(file, v, f.shape().asArray());
          System.out.println("wrote " + file + " " + java.util.Arrays.toString(f.shape().asArray()));
          Map<String, Object> entry = new java.util.LinkedHashMap<>();
          entry.put("name", name);
          entry.put("file", file.toString());
          entry.put("shape", toList(f.shape().asArray()));
          written.add(entry);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + out + "*.npy: " + e.getMessage(), e);
    }
    System.out.println(Json.obj().put("saved_model", info.dir().toString()).put("input", input.toString())
        .put("outputs", written));
  }

  private static List<Long> toList(long[] a) {
    List<Long> l = new ArrayList<>();
    for (long v : a) {
      l.add(v);
    }
    return l;
  }
}
