package org.mimtf.data.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.mimtf.data.TestData;

class IdxSourceTest {
  @TempDir Path tmp;

  @Test
  void fashionMnistFixtureHas5000TrainAnd1000TestImagesOf28x28() {
    IdxSource train = IdxSource.open(TestData.TRAIN_IMAGES, TestData.TRAIN_LABELS, 10);
    IdxSource test = IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 10);
    assertEquals(5000, train.size());
    assertEquals(1000, test.size());
    assertEquals(28, train.height());
    assertEquals(28, train.width());
    assertEquals(10, train.numClasses());
    Record r = train.read(0);
    assertEquals(1, r.pixels().channels());
    assertEquals(TestData.TRAIN_IMAGES + "#0", r.origin());
    assertNull(r.encoded());
  }

  @Test
  void labelsAreTheKnownFashionMnistLabels() {
    // The first 20 training labels and the first 10 test labels of Fashion-MNIST (from the original
    // Debian files with Python's gzip module).
    int[] train = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4};
    int[] test = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    IdxSource tr = IdxSource.open(TestData.TRAIN_IMAGES, TestData.TRAIN_LABELS, 10);
    IdxSource te = IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 10);
    for (int i = 0; i < train.length; i++) {
      assertEquals(train[i], tr.read(i).label(), "train #" + i);
    }
    for (int i = 0; i < test.length; i++) {
      assertEquals(test[i], te.read(i).label(), "test #" + i);
    }
    assertEquals(3, tr.read(4999).label());
    assertEquals(7, te.read(999).label());
  }

  @Test
  void pixelsAreValueOver255AndMatchKnownValues() {
    IdxSource train = IdxSource.open(TestData.TRAIN_IMAGES, TestData.TRAIN_LABELS, 10);
    // Row 14 of training image 0 and pixel sums, computed with Python from the original files.
    int[] row14 = {
      0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222, 221, 216, 223, 229,
      215, 218, 255, 77, 0
    };
    Image img0 = train.read(0).pixels();
    for (int x = 0; x < 28; x++) {
      assertEquals(row14[x] / 255f, img0.get(14, x, 0), 1e-7f, "x=" + x);
    }
    assertEquals(76247, sum255(img0));
    assertEquals(84598, sum255(train.read(1).pixels()));
    Image last = train.read(4999).pixels();
    assertEquals(29279, sum255(last));
    assertEquals(115 / 255f, last.get(10, 10, 0), 1e-7f);
  }

  @Test
  void everyImageMatchesAnIndependentReadOfTheGzipFile() throws IOException {
    // A second reader: stream the gzip with DataInputStream instead of IdxSource's code path.
    IdxSource test = IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 10);
    try (DataInputStream in =
        new DataInputStream(new GZIPInputStream(Files.newInputStream(TestData.TEST_IMAGES)))) {
      assertEquals(0x803, in.readInt());
      assertEquals(1000, in.readInt());
      assertEquals(28, in.readInt());
      assertEquals(28, in.readInt());
      byte[] px = new byte[784];
      for (int i = 0; i < 1000; i++) {
        in.readFully(px);
        float[] expected = new float[784];
        for (int k = 0; k < 784; k++) {
          expected[k] = (px[k] & 0xff) / 255f;
        }
        assertArrayEquals(expected, test.read(i).pixels().data(), 1e-7f, "image " + i);
      }
      assertEquals(-1, in.read());
    }
  }

  @Test
  void uncompressedFilesAreRecognisedByContentNotName() throws IOException {
    // Decompressed bytes under the .gz name: detection must look at the magic, not the extension.
    Path images = tmp.resolve("t10k-images-idx3-ubyte.gz");
    Path labels = tmp.resolve("labels.idx");
    Files.write(images, gunzip(TestData.TEST_IMAGES));
    Files.write(labels, gunzip(TestData.TEST_LABELS));
    IdxSource raw = IdxSource.open(images, labels, 10);
    IdxSource gz = IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 10);
    assertEquals(1000, raw.size());
    for (int i : new int[] {0, 17, 999}) {
      assertArrayEquals(gz.read(i).pixels().data(), raw.read(i).pixels().data());
      assertEquals(gz.read(i).label(), raw.read(i).label());
    }
  }

  @Test
  void withoutLabelsEveryLabelIsZero() {
    IdxSource s = IdxSource.open(TestData.TEST_IMAGES, null, 0);
    assertEquals(0, s.read(0).label());
    assertEquals(0, s.numClasses());
    assertTrue(s.describe().contains("no labels"), s.describe());
  }

  @Test
  void numClassesDefaultsToLargestLabelPlusOne() {
    assertEquals(10, IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 0).numClasses());
  }

  @Test
  void swappedImagesAndLabelsGiveAWrongMagicWithAHint() {
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> IdxSource.open(TestData.TEST_LABELS, TestData.TEST_IMAGES, 10));
    assertEquals(TestData.TEST_LABELS.toString(), e.origin());
    assertTrue(
        e.getMessage()
            .contains("wrong magic number 0x00000801 for an IDX images file, expected 0x00000803"),
        e.getMessage());
    assertTrue(e.getMessage().contains("swapped"), e.getMessage());
  }

  @Test
  void aFileThatIsNotIdxIsRejected() throws IOException {
    Path png = TestData.image("sneaker/sneaker-03-gray.png");
    BadInputException e = assertThrows(BadInputException.class, () -> IdxSource.open(png, null, 0));
    assertTrue(e.getMessage().startsWith(png + ": wrong magic number 0x89504e47"), e.getMessage());
    assertTrue(e.getMessage().endsWith("(not an IDX file)"), e.getMessage());
  }

  @Test
  void nonByteElementTypeIsNamed() throws IOException {
    Path floats = tmp.resolve("floats.idx");
    Files.write(floats, new byte[] {0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0});
    BadInputException e =
        assertThrows(BadInputException.class, () -> IdxSource.open(floats, null, 0));
    assertEquals(
        floats
            + ": wrong magic number 0x00000d03 for an IDX images file, expected 0x00000803"
            + " (element type 0x0d; only unsigned bytes, 0x08, are supported)",
        e.getMessage());
  }

  @Test
  void truncatedImagesFileIsReportedWithExpectedAndActualSize() throws IOException {
    byte[] raw = gunzip(TestData.TEST_IMAGES);
    Path cut = tmp.resolve("cut-images.gz");
    Files.write(cut, gzip(Arrays.copyOf(raw, raw.length - 100)));
    BadInputException e = assertThrows(BadInputException.class, () -> IdxSource.open(cut, null, 0));
    assertEquals(
        cut
            + ": truncated IDX file: the header announces 1000 images of 28x28 (784016 bytes) but"
            + " there are 783916 bytes",
        e.getMessage());
  }

  @Test
  void truncatedGzipStreamIsReported() throws IOException {
    byte[] gz = Files.readAllBytes(TestData.TEST_IMAGES);
    Path cut = tmp.resolve("cut.gz");
    Files.write(cut, Arrays.copyOf(gz, gz.length / 2));
    BadInputException e = assertThrows(BadInputException.class, () -> IdxSource.open(cut, null, 0));
    assertTrue(e.getMessage().startsWith(cut + ": corrupt or truncated gzip data"), e.getMessage());
  }

  @Test
  void imageAndLabelCountsMustAgree() {
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> IdxSource.open(TestData.TEST_IMAGES, TestData.TRAIN_LABELS, 10));
    assertEquals(
        TestData.TRAIN_LABELS
            + ": has 5000 labels but "
            + TestData.TEST_IMAGES
            + " has 1000 images",
        e.getMessage());
  }

  @Test
  void labelOutOfRangeNamesTheLabelsFileAndIndex() {
    // Test label #0 is 9 (ankle boot): out of range for 5 classes.
    BadInputException e =
        assertThrows(
            BadInputException.class,
            () -> IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 5));
    assertEquals(TestData.TEST_LABELS + "#0", e.origin());
    assertEquals(
        TestData.TEST_LABELS + "#0: label 9 is outside [0, 5) (num_classes = 5)", e.getMessage());
  }

  @Test
  void missingFileIsNamed() {
    Path missing = tmp.resolve("nope.gz");
    BadInputException e =
        assertThrows(BadInputException.class, () -> IdxSource.open(missing, null, 0));
    assertEquals(
        missing + ": does not exist or is not a file (expected an IDX file)", e.getMessage());
  }

  @Test
  void readOutsideTheRangeIsAnIndexError() {
    IdxSource s = IdxSource.open(TestData.TEST_IMAGES, null, 0);
    assertThrows(IndexOutOfBoundsException.class, () -> s.read(1000));
    assertThrows(IndexOutOfBoundsException.class, () -> s.read(-1));
  }

  private static long sum255(Image img) {
    long s = 0;
    for (float v : img.data()) {
      s += Math.round(v * 255);
    }
    return s;
  }

  static byte[] gunzip(Path p) throws IOException {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(p))) {
      return in.readAllBytes();
    }
  }

  static byte[] gzip(byte[] b) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(b);
    }
    return out.toByteArray();
  }
}
