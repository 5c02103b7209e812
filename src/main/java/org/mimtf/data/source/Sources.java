package org.mimtf.data.source;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.data.BadInputException;

/**
 * Builds a {@link Source} from its recipe message, {@link SourceConfig}: the only code that reads
 * that proto.
 *
 * <p>Errors name the recipe field as written in the recipe ({@code data.source.path}, {@code
 * eval.test.num_classes}) and the resolved path, because the person reading them will fix the
 * recipe, not the code.
 *
 * <p>Relative paths are resolved against the recipe's folder first and the working directory
 * second, so a recipe can ship next to its data ({@code path:
 * "fashion-mnist/train-images-idx3-ubyte.gz"}) and still be run from anywhere, while a path given
 * on the command line keeps working too.
 */
public final class Sources {
  private Sources() {}

  /** {@link #open(SourceConfig, Path, String)} for {@code data.source}. */
  public static Source open(SourceConfig cfg, Path baseDir) {
    return open(cfg, baseDir, "data.source");
  }

  /**
   * Opens the source {@code cfg} describes and applies its {@code limit}.
   *
   * @param baseDir folder of the recipe file, or null to resolve against the working directory only
   * @param field where {@code cfg} sits in the recipe ({@code data.source}, {@code eval.train},
   *     ...), for error messages
   * @throws BadInputException if a path does not exist or the data is unusable; the message names
   *     the field and the path
   * @throws IllegalArgumentException for settings that are wrong on their face (kind unset,
   *     negative limit, labels_path on a source that has no use for it)
   */
  public static Source open(SourceConfig cfg, Path baseDir, String field) {
    checkArgument(
        cfg.getLimit() >= 0, "%s.limit (%s) must be >= 0 (0 = all)", field, cfg.getLimit());
    checkArgument(
        cfg.getNumClasses() >= 0,
        "%s.num_classes (%s) must be >= 0 (0 = not checked)",
        field,
        cfg.getNumClasses());
    checkArgument(
        cfg.getLabelsPath().isEmpty() || cfg.getKind() == SourceConfig.Kind.IDX,
        "%s.labels_path is only used by IDX sources, but kind is %s",
        field,
        cfg.getKind());
    Source source =
        switch (cfg.getKind()) {
          case IDX -> {
            Path images = resolve(cfg.getPath(), baseDir, field + ".path", "an IDX images file");
            Path labels =
                cfg.getLabelsPath().isEmpty()
                    ? null
                    : resolve(
                        cfg.getLabelsPath(), baseDir, field + ".labels_path", "an IDX labels file");
            yield IdxSource.open(images, labels, cfg.getNumClasses());
          }
          case IMAGE_FOLDER -> {
            Path root =
                resolve(cfg.getPath(), baseDir, field + ".path", "a folder root/<class>/<images>");
            ImageFolderSource s = ImageFolderSource.open(root);
            if (cfg.getNumClasses() > 0 && cfg.getNumClasses() != s.numClasses()) {
              throw new BadInputException(
                  field + ".num_classes",
                  cfg.getNumClasses()
                      + " but "
                      + root
                      + " has "
                      + s.numClasses()
                      + " class sub-folders "
                      + preview(s.classNames()));
            }
            yield s;
          }
          case TFRECORD -> {
            String pattern = resolveShards(cfg.getPath(), baseDir, field + ".path");
            yield TfRecordSource.open(pattern, 0, cfg.getNumClasses());
          }
          case SYNTHETIC ->
              new SyntheticJpegSource(
                  cfg.getSyntheticCount(),
                  cfg.getSyntheticSize(),
                  cfg.getSyntheticJpegQuality(),
                  cfg.getNumClasses(),
                  0);
          case KIND_UNSET ->
              throw new IllegalArgumentException(
                  field + ".kind is not set (expected IDX, IMAGE_FOLDER, TFRECORD or SYNTHETIC)");
        };
    return cfg.getLimit() > 0 ? limit(source, cfg.getLimit()) : source;
  }

  /**
   * A view of the first {@code n} examples of {@code source} (all of them if it has fewer); closing
   * the view closes {@code source}.
   */
  public static Source limit(Source source, int n) {
    checkArgument(n > 0, "limit (%s) must be > 0", n);
    return n >= source.size() ? source : new Limited(source, n);
  }

  private record Limited(Source inner, int size) implements Source {
    @Override
    public Record read(int index) {
      if (index < 0 || index >= size) {
        throw new IndexOutOfBoundsException("index (" + index + ") must be in [0, " + size + ")");
      }
      return inner.read(index);
    }

    @Override
    public int numClasses() {
      return inner.numClasses();
    }

    @Override
    public String describe() {
      return inner.describe() + ", first " + size;
    }

    @Override
    public void close() {
      inner.close();
    }
  }

  /**
   * Resolves {@code path}: absolute as is; relative against {@code baseDir} if it exists there,
   * else against the working directory.
   *
   * @throws BadInputException naming {@code field} if the path is empty or exists in neither place
   */
  static Path resolve(String path, Path baseDir, String field, String expected) {
    if (path.isEmpty()) {
      throw new BadInputException(field, "is not set (expected " + expected + ")");
    }
    List<Path> candidates = candidates(Path.of(path), baseDir);
    for (Path c : candidates) {
      if (Files.exists(c)) {
        return c;
      }
    }
    throw new BadInputException(field, missing(path, candidates, "expected " + expected));
  }

  /** Like {@link #resolve}, but the file-name part may be a glob (TFRecord shards). */
  static String resolveShards(String path, Path baseDir, String field) {
    if (path.isEmpty()) {
      throw new BadInputException(
          field, "is not set (expected a TFRecord file, a folder of them, or a glob)");
    }
    Path p = Path.of(path);
    String name = p.getFileName() == null ? "" : p.getFileName().toString();
    boolean glob = name.chars().anyMatch(ch -> ch == '*' || ch == '?' || ch == '[' || ch == '{');
    if (!glob) {
      return resolve(path, baseDir, field, "a TFRecord file, a folder of them, or a glob")
          .toString();
    }
    Path parent = p.getParent() == null ? Path.of("") : p.getParent();
    List<Path> candidates = candidates(parent, baseDir);
    for (Path c : candidates) {
      if (Files.isDirectory(c)) {
        return c.resolve(name).toString();
      }
    }
    List<Path> folders = candidates.stream().map(c -> c.resolve(name).getParent()).toList();
    throw new BadInputException(
        field,
        missing(path, folders, "its folder does not exist; expected a glob such as /data/train-*"));
  }

  private static List<Path> candidates(Path p, Path baseDir) {
    if (p.isAbsolute()) {
      return List.of(p);
    }
    List<Path> c = new ArrayList<>(2);
    if (baseDir != null) {
      c.add(baseDir.resolve(p).toAbsolutePath().normalize());
    }
    Path cwd = Path.of("").toAbsolutePath().resolve(p).normalize();
    if (!c.contains(cwd)) {
      c.add(cwd);
    }
    return c;
  }

  /** "{@code path} does not exist (looked for A and B; {@code note})", naming where we looked. */
  private static String missing(String path, List<Path> looked, String note) {
    boolean asGiven = looked.size() == 1 && looked.get(0).toString().equals(path);
    String where =
        asGiven
            ? ""
            : "looked for "
                + String.join(" and ", looked.stream().map(Path::toString).toList())
                + "; ";
    return path + " does not exist (" + where + note + ")";
  }

  private static String preview(List<String> names) {
    return names.size() <= 5 ? names.toString() : names.subList(0, 5) + "...";
  }
}
