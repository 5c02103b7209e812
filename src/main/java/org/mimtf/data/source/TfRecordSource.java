package org.mimtf.data.source;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.mimtf.data.BadInputException;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;

/**
 * {@code tf.train.Example} records from one or more TFRecord shards: the format of TF's ImageNet
 * ({@code build_imagenet_data.py}) and TFDS-style image-classification shards.
 *
 * <p>Each example must hold the encoded image as {@code image/encoded} (bytes); its label is {@code
 * image/class/label} (int64) minus {@code labelOffset}. The offset exists because TF's ImageNet
 * converter writes labels 1..1000, keeping 0 for "background", while mimtf's labels start at 0: use
 * {@code labelOffset} 1 for those shards. An example without a label reads as label -1.
 *
 * <p>Examples are numbered shard by shard, in the sorted order of the shard paths, so the numbering
 * (and with it shuffling and resume) is the same on every machine.
 */
public final class TfRecordSource implements Source {
  /** Feature holding the encoded image. */
  public static final String IMAGE_KEY = "image/encoded";

  /** Feature holding the class label. */
  public static final String LABEL_KEY = "image/class/label";

  private final String description;
  private final List<TfRecordReader> shards;
  private final int[] starts;
  private final int size;
  private final int labelOffset;
  private final int numClasses;

  private TfRecordSource(
      String description, List<TfRecordReader> shards, int labelOffset, int numClasses) {
    this.description = description;
    this.shards = shards;
    this.labelOffset = labelOffset;
    this.numClasses = numClasses;
    this.starts = new int[shards.size()];
    long total = 0;
    for (int i = 0; i < shards.size(); i++) {
      starts[i] = (int) total;
      total += shards.get(i).size();
    }
    checkArgument(total <= Integer.MAX_VALUE, "too many records (%s) in %s", total, description);
    this.size = (int) total;
  }

  /** {@link #open(String, int, int)} with label offset 0 and no label range check. */
  public static TfRecordSource open(String pathOrGlob) {
    return open(pathOrGlob, 0, 0);
  }

  /**
   * Opens and indexes the shards named by {@code pathOrGlob}: a file, a folder (all its non-hidden
   * files, sorted) or a glob in the file-name part such as {@code /data/train-*}.
   *
   * @param labelOffset subtracted from every stored label (1 for TF's 1-based ImageNet shards)
   * @param numClasses labels must be in [0, numClasses); 0 checks only that they are not negative
   * @throws BadInputException if no shard matches, or a shard is unreadable, corrupt or truncated
   */
  public static TfRecordSource open(String pathOrGlob, int labelOffset, int numClasses) {
    checkArgument(numClasses >= 0, "numClasses (%s) must be >= 0", numClasses);
    List<Path> paths = shardPaths(pathOrGlob);
    return open(pathOrGlob, paths, labelOffset, numClasses);
  }

  /** Opens the given shards, in the given order. */
  public static TfRecordSource open(
      String description, List<Path> shardPaths, int labelOffset, int numClasses) {
    checkArgument(numClasses >= 0, "numClasses (%s) must be >= 0", numClasses);
    if (shardPaths.isEmpty()) {
      throw new BadInputException(description, "no TFRecord files found");
    }
    List<TfRecordReader> readers = new ArrayList<>(shardPaths.size());
    try {
      for (Path p : shardPaths) {
        readers.add(TfRecordReader.open(p));
      }
    } catch (RuntimeException e) {
      readers.forEach(TfRecordReader::close);
      throw e;
    }
    return new TfRecordSource(description, List.copyOf(readers), labelOffset, numClasses);
  }

  /**
   * The shard files for {@code pathOrGlob}, sorted by path.
   *
   * @throws BadInputException if nothing matches
   */
  public static List<Path> shardPaths(String pathOrGlob) {
    Path p = Path.of(pathOrGlob);
    if (Files.isRegularFile(p)) {
      return List.of(p);
    }
    if (Files.isDirectory(p)) {
      try (Stream<Path> s = Files.list(p)) {
        List<Path> files =
            s.filter(f -> Files.isRegularFile(f) && !f.getFileName().toString().startsWith("."))
                .sorted()
                .toList();
        if (files.isEmpty()) {
          throw new BadInputException(pathOrGlob, "folder has no TFRecord files");
        }
        return files;
      } catch (IOException e) {
        throw new BadInputException(pathOrGlob, "cannot list folder: " + e, e);
      }
    }
    Path name = p.getFileName();
    Path dir = p.getParent() == null ? Path.of(".") : p.getParent();
    if (name == null || !isGlob(name.toString())) {
      throw new BadInputException(
          pathOrGlob, "does not exist (expected a TFRecord file, a folder of them, or a glob)");
    }
    if (isGlob(dir.toString())) {
      throw new BadInputException(
          pathOrGlob, "only the file name may contain wildcards, not the folder");
    }
    if (!Files.isDirectory(dir)) {
      throw new BadInputException(pathOrGlob, "folder " + dir + " does not exist");
    }
    PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + name);
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path f : s) {
        if (m.matches(f.getFileName()) && Files.isRegularFile(f)) {
          files.add(f);
        }
      }
    } catch (IOException e) {
      throw new BadInputException(pathOrGlob, "cannot list folder: " + e, e);
    }
    if (files.isEmpty()) {
      throw new BadInputException(pathOrGlob, "no files match");
    }
    files.sort(null);
    return files;
  }

  private static boolean isGlob(String s) {
    return s.indexOf('*') >= 0 || s.indexOf('?') >= 0 || s.indexOf('[') >= 0 || s.indexOf('{') >= 0;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public int numClasses() {
    return numClasses;
  }

  /** The shard readers, in example order. */
  public List<TfRecordReader> shards() {
    return shards;
  }

  @Override
  public Record read(int index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException(
          "index (" + index + ") must be in [0, " + size + ") of " + description);
    }
    int s = Arrays.binarySearch(starts, index);
    if (s < 0) {
      s = -s - 2;
    }
    // Several shards may start at the same index (empty shards): take the last one that does.
    while (s + 1 < starts.length && starts[s + 1] <= index) {
      s++;
    }
    TfRecordReader shard = shards.get(s);
    int local = index - starts[s];
    String origin = shard.origin(local);
    byte[] data = shard.read(local);
    Example example;
    try {
      example = Example.parseFrom(data);
    } catch (InvalidProtocolBufferException e) {
      throw new BadInputException(
          origin, "record is not a tf.train.Example (" + e.getMessage() + ")", e);
    }
    Map<String, Feature> features = example.getFeatures().getFeatureMap();
    Feature image = features.get(IMAGE_KEY);
    if (image == null || image.getBytesList().getValueCount() == 0) {
      throw new BadInputException(
          origin, "example has no " + IMAGE_KEY + " bytes (features: " + features.keySet() + ")");
    }
    return Record.encoded(
        index, origin, image.getBytesList().getValue(0).toByteArray(), label(features, origin));
  }

  private int label(Map<String, Feature> features, String origin) {
    Feature f = features.get(LABEL_KEY);
    if (f == null || f.getInt64List().getValueCount() == 0) {
      return -1;
    }
    long raw = f.getInt64List().getValue(0);
    long label = raw - labelOffset;
    boolean bad = label < 0 || (numClasses > 0 ? label >= numClasses : label > Integer.MAX_VALUE);
    if (bad) {
      String range = numClasses > 0 ? "[0, " + numClasses + ")" : "[0, 2^31)";
      throw new BadInputException(
          origin,
          "label "
              + label
              + " ("
              + LABEL_KEY
              + " "
              + raw
              + " minus label offset "
              + labelOffset
              + ") is outside "
              + range
              + (labelOffset == 0 && label == numClasses
                  ? "; 1-based labels (ImageNet) need label offset 1"
                  : ""));
    }
    return (int) label;
  }

  @Override
  public String describe() {
    return "tfrecord "
        + description
        + " ("
        + shards.size()
        + " shard"
        + (shards.size() == 1 ? "" : "s")
        + ", "
        + size
        + " examples"
        + (labelOffset != 0 ? ", label offset " + labelOffset : "")
        + ")";
  }

  @Override
  public void close() {
    shards.forEach(TfRecordReader::close);
  }
}
