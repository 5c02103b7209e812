package org.mimtf.data.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.mimtf.data.BadInputException;
import org.mimtf.data.decode.ImageFormat;

/**
 * Images in a folder per class, {@code root/<class>/...}, the layout of torchvision's {@code
 * ImageFolder} and of the extracted ImageNet training set.
 *
 * <p>Classes are the sorted names of the non-hidden sub-folders and get labels 0..C-1 in that
 * order, so labels are the same on every machine and match torchvision's. Within a class, files are
 * taken from the whole sub-tree in sorted path order, again for a deterministic numbering.
 *
 * <p>A file is included when its first bytes are a JPEG, PNG, GIF or BMP signature ({@link
 * ImageFormat}), whatever its name: real collections have upper-case, missing or wrong extensions,
 * and also notes, checksums and {@code Thumbs.db} files that must not reach the decoder. Hidden
 * files and folders (name starting with '.') are ignored, which drops macOS {@code ._*} resource
 * forks that carry image extensions but no image. Sniffing costs one small read per file when the
 * source opens.
 *
 * <p>{@link #read} returns the encoded bytes; decoding is the pipeline's (parallel) job.
 */
public final class ImageFolderSource implements Source {
  private final Path root;
  private final List<String> classes;
  private final List<Path> files;
  private final int[] labels;

  private ImageFolderSource(Path root, List<String> classes, List<Path> files, int[] labels) {
    this.root = root;
    this.classes = classes;
    this.files = files;
    this.labels = labels;
  }

  /**
   * Lists and sniffs the images under {@code root}.
   *
   * @throws BadInputException if {@code root} does not exist, has no class sub-folders, or holds no
   *     image at all
   */
  public static ImageFolderSource open(Path root) {
    if (!Files.isDirectory(root)) {
      throw new BadInputException(
          root.toString(),
          Files.exists(root)
              ? "is not a folder (expected root/<class>/<images>)"
              : "does not exist (expected a folder root/<class>/<images>)");
    }
    List<Path> classDirs;
    try (Stream<Path> s = Files.list(root)) {
      classDirs = s.filter(p -> Files.isDirectory(p) && !isHidden(p)).sorted(byName()).toList();
    } catch (IOException e) {
      throw new BadInputException(root.toString(), "cannot list folder: " + e, e);
    }
    if (classDirs.isEmpty()) {
      throw new BadInputException(
          root.toString(),
          "has no class sub-folders (expected root/<class>/<images>, one folder per class)");
    }
    List<String> classes = new ArrayList<>();
    List<Path> files = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    byte[] head = new byte[ImageFormat.SNIFF_BYTES];
    for (int c = 0; c < classDirs.size(); c++) {
      Path dir = classDirs.get(c);
      classes.add(dir.getFileName().toString());
      List<Path> candidates;
      try (Stream<Path> s = Files.walk(dir)) {
        candidates =
            s.filter(p -> !hiddenBelow(dir, p) && Files.isRegularFile(p)).sorted().toList();
      } catch (IOException e) {
        throw new BadInputException(dir.toString(), "cannot list folder: " + e, e);
      }
      for (Path p : candidates) {
        if (isImage(p, head)) {
          files.add(p);
          labels.add(c);
        }
      }
    }
    if (files.isEmpty()) {
      throw new BadInputException(
          root.toString(),
          "no JPEG, PNG, GIF or BMP files in its " + classes.size() + " class sub-folders");
    }
    return new ImageFolderSource(
        root,
        List.copyOf(classes),
        List.copyOf(files),
        labels.stream().mapToInt(Integer::intValue).toArray());
  }

  private static Comparator<Path> byName() {
    return Comparator.comparing(p -> p.getFileName().toString());
  }

  private static boolean isHidden(Path p) {
    return p.getFileName().toString().startsWith(".");
  }

  /** Whether any path element below {@code dir} (the file or a folder on the way) is hidden. */
  private static boolean hiddenBelow(Path dir, Path p) {
    for (Path part : dir.relativize(p)) {
      if (part.toString().startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  private static boolean isImage(Path p, byte[] head) {
    try (InputStream in = Files.newInputStream(p)) {
      int n = in.readNBytes(head, 0, head.length);
      return ImageFormat.detect(head, n) != null;
    } catch (IOException e) {
      throw new BadInputException(p.toString(), "cannot read: " + e, e);
    }
  }

  @Override
  public int size() {
    return files.size();
  }

  @Override
  public int numClasses() {
    return classes.size();
  }

  /** Class (sub-folder) names; label {@code i} is {@code classNames().get(i)}. */
  public List<String> classNames() {
    return classes;
  }

  /** The file of example {@code index}. */
  public Path file(int index) {
    return files.get(index);
  }

  @Override
  public Record read(int index) {
    Path p = files.get(index);
    try {
      return Record.encoded(index, p.toString(), Files.readAllBytes(p), labels[index]);
    } catch (IOException e) {
      throw new BadInputException(p.toString(), "cannot read: " + e, e);
    }
  }

  @Override
  public String describe() {
    return "image folder "
        + root
        + " ("
        + files.size()
        + " images, "
        + classes.size()
        + " classes)";
  }
}
