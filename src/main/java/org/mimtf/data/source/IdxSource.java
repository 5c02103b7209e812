package org.mimtf.data.source;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;

/**
 * MNIST-style IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST): an images file and an optional
 * labels file, raw or gzip-compressed.
 *
 * <p>Compression is recognised by the gzip magic bytes {@code 1f 8b}, not by the {@code .gz}
 * extension, because both variants circulate under both names (browsers and some mirrors decompress
 * on download but keep the name).
 *
 * <p>IDX layout (big-endian): two zero bytes, an element type ({@code 0x08} = unsigned byte), the
 * number of dimensions, one uint32 per dimension, then the data. Images are {@code 0x00000803} with
 * dimensions N, H, W; labels {@code 0x00000801} with dimension N.
 *
 * <p>The whole data set is loaded once (Fashion-MNIST's 60000 images are 47 MB), so reads are array
 * copies and every file problem, labels included, shows up when the source is opened rather than
 * hours into training. Without a labels file every label is 0.
 */
public final class IdxSource implements Source {
  private static final int IMAGES_MAGIC = 0x00000803;
  private static final int LABELS_MAGIC = 0x00000801;

  private final Path imagesPath;
  private final Path labelsPath;
  private final int count;
  private final int height;
  private final int width;
  private final byte[] pixels;
  private final byte[] labels;
  private final int numClasses;

  private IdxSource(
      Path imagesPath,
      Path labelsPath,
      int count,
      int height,
      int width,
      byte[] pixels,
      byte[] labels,
      int numClasses) {
    this.imagesPath = imagesPath;
    this.labelsPath = labelsPath;
    this.count = count;
    this.height = height;
    this.width = width;
    this.pixels = pixels;
    this.labels = labels;
    this.numClasses = numClasses;
  }

  /**
   * Loads {@code images} and, if not null, {@code labels}.
   *
   * @param numClasses labels must be in [0, numClasses); 0 = not checked, and {@link #numClasses()}
   *     is then the largest label + 1
   * @throws BadInputException for a missing or unreadable file, a wrong magic number, a truncated
   *     file, image and label counts that differ, or a label out of range
   */
  public static IdxSource open(Path images, Path labels, int numClasses) {
    checkArgument(numClasses >= 0, "numClasses (%s) must be >= 0", numClasses);
    byte[] img = load(images);
    int[] dims = header(img, images, IMAGES_MAGIC, "images");
    int n = dims[0];
    int h = dims[1];
    int w = dims[2];
    if (h <= 0 || w <= 0) {
      throw new BadInputException(
          images.toString(), "images of size " + h + "x" + w + " (IDX header)");
    }
    int headerBytes = 4 + 4 * 3;
    long expected = headerBytes + (long) n * h * w;
    checkLength(img, expected, images, n + " images of " + h + "x" + w);
    byte[] px = new byte[n * h * w];
    System.arraycopy(img, headerBytes, px, 0, px.length);

    byte[] lab = null;
    int classes = numClasses;
    if (labels != null) {
      byte[] raw = load(labels);
      int ln = header(raw, labels, LABELS_MAGIC, "labels")[0];
      checkLength(raw, 8L + ln, labels, ln + " labels");
      if (ln != n) {
        throw new BadInputException(
            labels.toString(), "has " + ln + " labels but " + images + " has " + n + " images");
      }
      lab = new byte[n];
      System.arraycopy(raw, 8, lab, 0, n);
      int max = -1;
      for (int i = 0; i < n; i++) {
        int l = lab[i] & 0xff;
        if (numClasses > 0 && l >= numClasses) {
          throw new BadInputException(
              labels + "#" + i,
              "label "
                  + l
                  + " is outside [0, "
                  + numClasses
                  + ") (num_classes = "
                  + numClasses
                  + ")");
        }
        max = Math.max(max, l);
      }
      if (classes == 0) {
        classes = max + 1;
      }
    }
    return new IdxSource(images, labels, n, h, w, px, lab, classes);
  }

  /** The file's bytes, gunzipped if they start with the gzip magic. */
  private static byte[] load(Path path) {
    if (!Files.isRegularFile(path)) {
      throw new BadInputException(
          path.toString(), "does not exist or is not a file (expected an IDX file)");
    }
    try {
      byte[] raw = Files.readAllBytes(path);
      if (raw.length >= 2 && (raw[0] & 0xff) == 0x1f && (raw[1] & 0xff) == 0x8b) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw), 1 << 16)) {
          ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length * 2);
          in.transferTo(out);
          return out.toByteArray();
        } catch (IOException e) {
          throw new BadInputException(
              path.toString(), "corrupt or truncated gzip data (" + e.getMessage() + ")", e);
        }
      }
      return raw;
    } catch (IOException e) {
      throw new BadInputException(path.toString(), "cannot read: " + e, e);
    }
  }

  /** Checks the magic and returns the dimensions. */
  private static int[] header(byte[] b, Path path, int magic, String what) {
    if (b.length < 4) {
      throw new BadInputException(
          path.toString(), "too short for an IDX file (" + b.length + " bytes)");
    }
    int m = readInt(b, 0);
    if (m != magic) {
      throw new BadInputException(
          path.toString(),
          String.format(
              "wrong magic number 0x%08x for an IDX %s file, expected 0x%08x%s",
              m, what, magic, magicHint(m, magic)));
    }
    int nd = magic & 0xff;
    if (b.length < 4 + 4 * nd) {
      throw new BadInputException(path.toString(), "truncated IDX header (" + b.length + " bytes)");
    }
    int[] dims = new int[nd];
    for (int i = 0; i < nd; i++) {
      dims[i] = readInt(b, 4 + 4 * i);
      if (dims[i] < 0) {
        throw new BadInputException(
            path.toString(),
            "IDX dimension " + i + " is negative or too large: " + (dims[i] & 0xffffffffL));
      }
    }
    return dims;
  }

  /** Why a magic number is wrong, in the terms of the likely mistake. */
  private static String magicHint(int found, int expected) {
    int other = expected == IMAGES_MAGIC ? LABELS_MAGIC : IMAGES_MAGIC;
    if (found == other) {
      return " (this is an IDX "
          + (expected == IMAGES_MAGIC ? "labels" : "images")
          + " file: are the images and labels paths swapped?)";
    }
    if ((found >>> 16) != 0) {
      return " (not an IDX file)";
    }
    int type = (found >>> 8) & 0xff;
    if (type != 0x08) {
      return String.format(
          " (element type 0x%02x; only unsigned bytes, 0x08, are supported)", type);
    }
    return " (an IDX file with "
        + (found & 0xff)
        + " dimensions, expected "
        + (expected & 0xff)
        + ")";
  }

  private static void checkLength(byte[] b, long expected, Path path, String what) {
    if (expected > Integer.MAX_VALUE - 8) {
      throw new BadInputException(
          path.toString(),
          "IDX header announces " + what + ", too large to load (" + expected + " bytes)");
    }
    if (b.length < expected) {
      throw new BadInputException(
          path.toString(),
          "truncated IDX file: the header announces "
              + what
              + " ("
              + expected
              + " bytes) but there are "
              + b.length
              + " bytes");
    }
    if (b.length > expected) {
      throw new BadInputException(
          path.toString(),
          "IDX file has "
              + (b.length - expected)
              + " bytes after the "
              + what
              + " its header announces");
    }
  }

  private static int readInt(byte[] b, int i) {
    return (b[i] & 0xff) << 24
        | (b[i + 1] & 0xff) << 16
        | (b[i + 2] & 0xff) << 8
        | (b[i + 3] & 0xff);
  }

  @Override
  public int size() {
    return count;
  }

  @Override
  public int numClasses() {
    return numClasses;
  }

  /** Image height in pixels. */
  public int height() {
    return height;
  }

  /** Image width in pixels. */
  public int width() {
    return width;
  }

  /** The label of example {@code index} without building its image (0 without a labels file). */
  public int label(int index) {
    checkIndex(index);
    return labels == null ? 0 : labels[index] & 0xff;
  }

  @Override
  public Record read(int index) {
    checkIndex(index);
    int n = height * width;
    byte[] px = new byte[n];
    System.arraycopy(pixels, index * n, px, 0, n);
    return Record.decoded(
        index, imagesPath + "#" + index, Image.fromBytes(height, width, 1, px), label(index));
  }

  private void checkIndex(int index) {
    if (index < 0 || index >= count) {
      throw new IndexOutOfBoundsException(
          "index (" + index + ") must be in [0, " + count + ") of " + imagesPath);
    }
  }

  @Override
  public String describe() {
    return "idx "
        + imagesPath
        + (labelsPath != null ? " + " + labelsPath.getFileName() : " (no labels)")
        + " ("
        + count
        + " images "
        + height
        + "x"
        + width
        + ")";
  }
}
