package org.mimtf.export;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;

/**
 * What a SavedModel offers, read from its {@code saved_model.pb} with protobuf alone: the tag-sets
 * of its MetaGraphDefs, their signatures (method name; inputs and outputs with dtype, shape and
 * tensor name) and the variables listed in {@code variables/variables.index}.
 *
 * <p>Why not load it: {@code SavedModelBundle.load} starts the native runtime, builds the whole graph
 * and restores every variable, which takes seconds and gigabytes for a ViT-L teacher, only to learn
 * its input shape. Reading the protobuf takes milliseconds, so a recipe's teacher can be validated
 * (signature key, input shape, output names) before a training run commits to it.
 *
 * <p>{@link #format()} prints the layout of Python's {@code saved_model_cli show --all}, so that its
 * output can be compared line by line. Not reproduced: the "Concrete Functions" section, which
 * saved_model_cli builds by loading a TF2 object graph in Python. The variables are listed after the
 * signatures, a section saved_model_cli does not have.
 *
 * <p>{@link #read(Path)} accepts a SavedModel directory or, as TF Serving lays out models, a folder of
 * numbered version subfolders ({@code NAME/1/}, {@code NAME/2/}): it then reads the highest version
 * and {@link #format()} says so.
 */
public final class SavedModelInfo {
  static final String PB = "saved_model.pb";
  static final String PBTXT = "saved_model.pbtxt";
  private static final String EXPECTED = "expected a SavedModel directory containing " + PB
      + " (or " + PBTXT + "), or a folder of numbered version subfolders (1/, 2/, ...) holding one";

  /**
   * One input or output of a signature.
   *
   * @param name the graph tensor, e.g. {@code serving_default_images:0}; empty for a sparse or
   *     composite tensor (those have no single name)
   * @param dtype TF's enum name, e.g. {@code DT_FLOAT}
   * @param unknownRank true when nothing is known about the shape
   * @param dims the dimensions, -1 where unknown; empty when the rank is unknown
   */
  public record TensorSpec(String name, String dtype, boolean unknownRank, List<Long> dims) {
    public TensorSpec {
      dims = List.copyOf(dims);
    }

    /** {@code (-1, 28, 28, 1)}, {@code ()} for a scalar, or {@code unknown_rank}: saved_model_cli's text. */
    public String shapeString() {
      return unknownRank ? "unknown_rank" : tuple(dims);
    }

    /** The dimensions joined like Python's {@code '(' + ', '.join(dims) + ')'} (so one dim is "(5)"). */
    static String tuple(List<Long> dims) {
      StringBuilder sb = new StringBuilder("(");
      for (int i = 0; i < dims.size(); i++) {
        sb.append(i > 0 ? ", " : "").append(dims.get(i));
      }
      return sb.append(')').toString();
    }
  }

  /**
   * One SignatureDef.
   *
   * @param key the signature key, e.g. {@code serving_default}
   * @param methodName e.g. {@code tensorflow/serving/predict}
   * @param inputs by input key, sorted by key
   * @param outputs by output key, sorted by key
   */
  public record Signature(String key, String methodName, SortedMap<String, TensorSpec> inputs,
      SortedMap<String, TensorSpec> outputs) {
    public Signature {
      inputs = Collections.unmodifiableSortedMap(new TreeMap<>(inputs));
      outputs = Collections.unmodifiableSortedMap(new TreeMap<>(outputs));
    }
  }

  /**
   * One MetaGraphDef.
   *
   * @param tags its tag-set in the stored order, e.g. {@code [serve]}
   * @param signatures by key, sorted by key
   */
  public record MetaGraph(List<String> tags, SortedMap<String, Signature> signatures) {
    public MetaGraph {
      tags = List.copyOf(tags);
      signatures = Collections.unmodifiableSortedMap(new TreeMap<>(signatures));
    }

    /** The signature with this key, if there is one. */
    public Optional<Signature> signature(String key) {
      return Optional.ofNullable(signatures.get(key));
    }
  }

  private final Path requested;
  private final Path dir;
  private final List<String> versions;
  private final List<MetaGraph> metaGraphs;
  private final List<CheckpointIndex.Entry> variables;

  private SavedModelInfo(Path requested, Path dir, List<String> versions, List<MetaGraph> metaGraphs,
      List<CheckpointIndex.Entry> variables) {
    this.requested = requested;
    this.dir = dir;
    this.versions = List.copyOf(versions);
    this.metaGraphs = List.copyOf(metaGraphs);
    this.variables = List.copyOf(variables);
  }

  /**
   * Reads the SavedModel in {@code path}: a SavedModel directory, its {@code saved_model.pb}, or a
   * folder of numbered versions (the highest is read).
   *
   * @throws UserException when there is no SavedModel there or it cannot be parsed; the message
   *     names the path and what was expected
   */
  public static SavedModelInfo read(Path path) {
    Path requested = path;
    if (Files.isRegularFile(path) && (path.endsWith(PB) || path.endsWith(PBTXT))) {
      path = path.toAbsolutePath().getParent();
    }
    if (!Files.exists(path)) {
      throw new UserException(requested + ": no such file or directory; " + EXPECTED);
    }
    if (!Files.isDirectory(path)) {
      throw new UserException(requested + ": is a file, not a directory; " + EXPECTED);
    }
    Path dir = path;
    List<String> versions = List.of();
    if (modelFile(dir) == null) {
      versions = versionFolders(dir);
      List<String> usable = versions.stream().filter(v -> modelFile(dir.resolve(v)) != null).toList();
      if (usable.isEmpty()) {
        String found = versions.isEmpty() ? "it has neither " + PB + " nor a numbered version subfolder"
            : "it has no " + PB + ", and its version folders " + String.join(", ", versions) + " have none either";
        throw new UserException(requested + ": not a SavedModel: " + found + "; " + EXPECTED);
      }
      versions = usable;
      path = dir.resolve(usable.get(usable.size() - 1));
    }
    Path file = modelFile(path);
    SavedModel model = parse(file);
    if (model.getMetaGraphsCount() == 0) {
      throw new UserException(file + ": holds no MetaGraphDef; " + EXPECTED);
    }
    List<MetaGraph> graphs = new ArrayList<>();
    for (MetaGraphDef mg : model.getMetaGraphsList()) {
      SortedMap<String, Signature> sigs = new TreeMap<>();
      for (Map.Entry<String, SignatureDef> e : mg.getSignatureDefMap().entrySet()) {
        SignatureDef sd = e.getValue();
        sigs.put(e.getKey(), new Signature(e.getKey(), sd.getMethodName(), specs(sd.getInputsMap()),
            specs(sd.getOutputsMap())));
      }
      graphs.add(new MetaGraph(mg.getMetaInfoDef().getTagsList(), sigs));
    }
    Path index = path.resolve("variables").resolve("variables.index");
    List<CheckpointIndex.Entry> vars = Files.isRegularFile(index) ? CheckpointIndex.read(index) : List.of();
    return new SavedModelInfo(requested, path, versions, graphs, vars);
  }

  /** The path as given to {@link #read(Path)}. */
  public Path requested() {
    return requested;
  }

  /** The SavedModel directory actually read (a version subfolder when one was picked). */
  public Path dir() {
    return dir;
  }

  /** The version folder read, when {@link #read(Path)} was given a folder of versions. */
  public Optional<String> version() {
    return versions.isEmpty() ? Optional.empty() : Optional.of(versions.get(versions.size() - 1));
  }

  /** The MetaGraphDefs in stored order. */
  public List<MetaGraph> metaGraphs() {
    return metaGraphs;
  }

  /** The tensors of {@code variables/variables.index} in key order; empty when there is no index. */
  public List<CheckpointIndex.Entry> variables() {
    return variables;
  }

  /** The MetaGraph whose tag-set equals {@code tags} (in any order), e.g. {@code metaGraph("serve")}. */
  public Optional<MetaGraph> metaGraph(String... tags) {
    var wanted = new HashSet<>(Arrays.asList(tags));
    return metaGraphs.stream().filter(m -> new HashSet<>(m.tags()).equals(wanted)).findFirst();
  }

  /** The text of {@code saved_model_cli show --all} (see the class comment), lines ending in '\n'. */
  public String format() {
    StringBuilder sb = new StringBuilder();
    version().ifPresent(v -> sb.append("Using version ").append(v).append(" of ").append(requested)
        .append(" (the highest of ").append(String.join(", ", versions)).append(")\n"));
    List<MetaGraph> sorted = new ArrayList<>(metaGraphs);
    sorted.sort(TAG_SET_ORDER);
    for (MetaGraph mg : sorted) {
      sb.append("\nMetaGraphDef with tag-set: '").append(String.join(", ", mg.tags()))
          .append("' contains the following SignatureDefs:\n");
      for (Signature sig : mg.signatures().values()) {
        sb.append("\nsignature_def['").append(sig.key()).append("']:\n");
        sb.append("  The given SavedModel SignatureDef contains the following input(s):\n");
        tensors(sb, "inputs", sig.inputs());
        sb.append("  The given SavedModel SignatureDef contains the following output(s):\n");
        tensors(sb, "outputs", sig.outputs());
        sb.append("  Method name is: ").append(sig.methodName()).append('\n');
      }
    }
    sb.append("\nVariables in variables/variables.index: ");
    if (variables.isEmpty()) {
      sb.append("none\n");
    } else {
      sb.append(variables.size()).append('\n');
      for (CheckpointIndex.Entry v : variables) {
        sb.append("  ").append(v.name()).append(": ").append(v.dtype()).append(' ').append(v.shapeString())
            .append('\n');
      }
    }
    return sb.toString();
  }

  /**
   * The summary as one JSON object: {@code dir}, {@code version} (null unless a version folder was
   * picked), {@code meta_graphs} (each with {@code tags} and {@code signatures}: key →
   * {@code method}, {@code inputs}, {@code outputs}; each tensor with {@code dtype}, {@code shape} (a
   * list, null for unknown rank) and {@code name}) and {@code variables} (their count).
   */
  public Json.Obj summary() {
    List<Object> graphs = new ArrayList<>();
    for (MetaGraph mg : metaGraphs) {
      Map<String, Object> sigs = new LinkedHashMap<>();
      for (Signature s : mg.signatures().values()) {
        sigs.put(s.key(), Json.obj().put("method", s.methodName()).put("inputs", tensorsJson(s.inputs()))
            .put("outputs", tensorsJson(s.outputs())));
      }
      graphs.add(Json.obj().put("tags", mg.tags()).put("signatures", sigs));
    }
    return Json.obj().put("dir", dir.toString()).put("version", version().orElse(null))
        .put("meta_graphs", graphs).put("variables", variables.size());
  }

  @Override
  public String toString() {
    return "SavedModelInfo" + summary();
  }

  private static Map<String, Object> tensorsJson(SortedMap<String, TensorSpec> specs) {
    Map<String, Object> out = new LinkedHashMap<>();
    specs.forEach((k, t) -> out.put(k, Json.obj().put("dtype", t.dtype())
        .put("shape", t.unknownRank() ? null : t.dims()).put("name", t.name())));
    return out;
  }

  private static void tensors(StringBuilder sb, String kind, SortedMap<String, TensorSpec> specs) {
    specs.forEach((k, t) -> sb.append("    ").append(kind).append("['").append(k).append("'] tensor_info:\n")
        .append("        dtype: ").append(t.dtype()).append('\n')
        .append("        shape: ").append(t.shapeString()).append('\n')
        .append("        name: ").append(t.name()).append('\n'));
  }

  /** Python's {@code sorted()} of tag lists: element-wise, a prefix first. */
  private static final Comparator<MetaGraph> TAG_SET_ORDER = (a, b) -> {
    for (int i = 0; i < Math.min(a.tags().size(), b.tags().size()); i++) {
      int c = a.tags().get(i).compareTo(b.tags().get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(a.tags().size(), b.tags().size());
  };

  private static SortedMap<String, TensorSpec> specs(Map<String, TensorInfo> infos) {
    SortedMap<String, TensorSpec> out = new TreeMap<>();
    infos.forEach((k, ti) -> out.put(k, new TensorSpec(ti.getName(),
        CheckpointIndex.dtypeName(ti.getDtype(), ti.getDtypeValue()), ti.getTensorShape().getUnknownRank(),
        CheckpointIndex.dims(ti.getTensorShape()))));
    return out;
  }

  /** saved_model.pb, else saved_model.pbtxt, in {@code dir}; null when neither exists. */
  private static Path modelFile(Path dir) {
    for (String name : List.of(PB, PBTXT)) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return null;
  }

  /** The all-digit subfolder names of {@code dir}, in numeric order. */
  private static List<String> versionFolders(Path dir) {
    try (Stream<Path> children = Files.list(dir)) {
      return children.filter(Files::isDirectory).map(p -> p.getFileName().toString())
          .filter(n -> n.matches("[0-9]+")).sorted(Comparator.comparing(BigInteger::new)).toList();
    } catch (IOException e) {
      throw new UserException(dir + ": cannot list the directory: " + e.getMessage(), e);
    }
  }

  private static SavedModel parse(Path file) {
    try {
      if (file.getFileName().toString().equals(PBTXT)) {
        SavedModel.Builder b = SavedModel.newBuilder();
        TextFormat.getParser().merge(Files.readString(file), b);
        return b.build();
      }
      try (InputStream in = Files.newInputStream(file)) {
        CodedInputStream cin = CodedInputStream.newInstance(in);
        cin.setSizeLimit(Integer.MAX_VALUE);
        return SavedModel.parseFrom(cin);
      }
    } catch (InvalidProtocolBufferException | TextFormat.ParseException e) {
      throw new UserException(file + ": not a SavedModel protobuf: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UserException(file + ": cannot read: " + e.getMessage(), e);
    }
  }
}
