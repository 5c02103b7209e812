package org.mimtf.data.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.mimtf.data.TestData;
import org.mimtf.data.decode.JavaImageDecoder;
import org.mimtf.data.decode.TfImageDecoder;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;

class TfRecordTest {
  @TempDir Path tmp;

  // ---- CRC ------------------------------------------------------------------------------------

  @Test
  void crc32cMatchesPublishedVectors() {
    // RFC 3720 B.4 test vectors (also in TensorFlow's crc32c_test.cc) and the CRC-32C check value.
    byte[] zeros = new byte[32];
    byte[] ones = new byte[32];
    Arrays.fill(ones, (byte) 0xff);
    byte[] up = new byte[32];
    byte[] down = new byte[32];
    for (int i = 0; i < 32; i++) {
      up[i] = (byte) i;
      down[i] = (byte) (31 - i);
    }
    assertEquals(0x8a9136aa, unmasked(zeros));
    assertEquals(0x62a8ab43, unmasked(ones));
    assertEquals(0x46dd794e, unmasked(up));
    assertEquals(0x113fdb5c, unmasked(down));
    assertEquals(0xe3069283, unmasked("123456789".getBytes(StandardCharsets.US_ASCII)));
  }

  @Test
  void maskedCrcOfTheEmptyStringIsTheMaskDelta() {
    // crc32c("") = 0, and mask(0) = rotr(0, 15) + 0xa282ead8.
    assertEquals(0xa282ead8, TfRecordFormat.maskedCrc32c(new byte[0]));
  }

  @Test
  void maskIsInvertibleAndChangesTheValue() {
    Random r = new Random(1);
    for (int i = 0; i < 1000; i++) {
      int crc = r.nextInt();
      assertNotEquals(crc, TfRecordFormat.mask(crc));
      assertNotEquals(crc, TfRecordFormat.mask(TfRecordFormat.mask(crc)));
      assertEquals(crc, TfRecordFormat.unmask(TfRecordFormat.mask(crc)));
      assertEquals(
          crc,
          TfRecordFormat.unmask(
              TfRecordFormat.unmask(TfRecordFormat.mask(TfRecordFormat.mask(crc)))));
    }
  }

  @Test
  void maskedCrcAgreesWithABitwiseReferenceImplementation() {
    Random r = new Random(7);
    for (int len : new int[] {0, 1, 7, 8, 64, 1000}) {
      byte[] b = new byte[len];
      r.nextBytes(b);
      assertEquals(referenceMasked(b), TfRecordFormat.maskedCrc32c(b), "length " + len);
    }
  }

  private static int unmasked(byte[] b) {
    return TfRecordFormat.unmask(TfRecordFormat.maskedCrc32c(b));
  }

  /** CRC-32C bit by bit (reflected polynomial 0x82F63B78), masked as TensorFlow does. */
  static int referenceMasked(byte[] b) {
    int crc = 0xffffffff;
    for (byte x : b) {
      crc ^= x & 0xff;
      for (int k = 0; k < 8; k++) {
        crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
      }
    }
    crc = ~crc;
    return (Integer.rotateRight(crc, 15)) + 0xa282ead8;
  }

  // ---- framing ----------------------------------------------------------------------------------

  @Test
  void recordBytesFollowTheTfRecordLayout() throws IOException {
    Path f = tmp.resolve("abc.tfrecord");
    try (TfRecordWriter w = TfRecordWriter.create(f)) {
      w.write("abc".getBytes(StandardCharsets.US_ASCII));
    }
    byte[] b = Files.readAllBytes(f);
    assertEquals(12 + 3 + 4, b.length);
    byte[] len = {3, 0, 0, 0, 0, 0, 0, 0};
    assertArrayEquals(len, Arrays.copyOf(b, 8));
    assertEquals(referenceMasked(len), leInt(b, 8));
    assertEquals("abc", new String(b, 12, 3, StandardCharsets.US_ASCII));
    assertEquals(referenceMasked("abc".getBytes(StandardCharsets.US_ASCII)), leInt(b, 15));
  }

  @Test
  void writtenRecordsReadBackByIndexWithTheirOffsets() throws IOException {
    List<byte[]> records = randomRecords(new int[] {0, 1, 1000, 70_000, 5}, 3);
    Path f = write(tmp.resolve("r.tfrecord"), records);
    try (TfRecordReader r = TfRecordReader.open(f)) {
      assertEquals(records.size(), r.size());
      long offset = 0;
      for (int i = 0; i < records.size(); i++) {
        assertEquals(offset, r.offset(i));
        assertEquals(f + "@" + offset, r.origin(i));
        offset += 12 + records.get(i).length + 4;
      }
      for (int i = records.size() - 1; i >= 0; i--) {
        assertArrayEquals(records.get(i), r.read(i), "record " + i);
      }
      assertThrows(IndexOutOfBoundsException.class, () -> r.read(records.size()));
    }
  }

  @Test
  void emptyFileHasNoRecords() throws IOException {
    Path f = Files.createFile(tmp.resolve("empty.tfrecord"));
    try (TfRecordReader r = TfRecordReader.open(f)) {
      assertEquals(0, r.size());
    }
  }

  @Test
  void flippedDataByteIsACrcErrorNamingShardAndOffset() throws IOException {
    List<byte[]> records = randomRecords(new int[] {100, 200, 300}, 5);
    Path f = write(tmp.resolve("flip.tfrecord"), records);
    byte[] b = Files.readAllBytes(f);
    long second = 12 + 100 + 4;
    b[(int) second + 12 + 50] ^= 0x01;
    Files.write(f, b);
    try (TfRecordReader r = TfRecordReader.open(f)) { // headers are intact: indexing succeeds
      assertArrayEquals(records.get(0), r.read(0));
      assertArrayEquals(records.get(2), r.read(2));
      BadInputException e = assertThrows(BadInputException.class, () -> r.read(1));
      assertEquals(f + "@" + second, e.origin());
      assertTrue(
          e.getMessage().startsWith(f + "@" + second + ": corrupt TFRecord: data CRC mismatch"),
          e.getMessage());
    }
  }

  @Test
  void flippedLengthByteIsDetectedWhenIndexing() throws IOException {
    Path f = write(tmp.resolve("len.tfrecord"), randomRecords(new int[] {10, 20}, 6));
    byte[] b = Files.readAllBytes(f);
    long second = 12 + 10 + 4;
    b[(int) second] ^= 0x40;
    Files.write(f, b);
    BadInputException e = assertThrows(BadInputException.class, () -> TfRecordReader.open(f));
    assertEquals(f + "@" + second, e.origin());
    assertTrue(e.getMessage().contains("length CRC mismatch"), e.getMessage());
  }

  @Test
  void truncatedLastRecordIsDetectedWhenIndexing() throws IOException {
    Path f = write(tmp.resolve("cut.tfrecord"), randomRecords(new int[] {10, 20, 30}, 8));
    byte[] b = Files.readAllBytes(f);
    long third = (12 + 10 + 4) + (12 + 20 + 4);
    Files.write(f, Arrays.copyOf(b, b.length - 5)); // inside the third record's data
    BadInputException e = assertThrows(BadInputException.class, () -> TfRecordReader.open(f));
    assertEquals(
        f
            + "@"
            + third
            + ": truncated TFRecord: the record of 30 bytes ends at byte "
            + b.length
            + " but the file has "
            + (b.length - 5)
            + " bytes",
        e.getMessage());
    Files.write(f, Arrays.copyOf(b, (int) third + 7)); // inside the third record's header
    e = assertThrows(BadInputException.class, () -> TfRecordReader.open(f));
    assertEquals(
        f
            + "@"
            + third
            + ": truncated TFRecord: 7 bytes left at the end of the file, a record header needs 12",
        e.getMessage());
  }

  @Test
  void aNonTfRecordFileFailsOnTheFirstHeader() {
    Path png = TestData.image("sneaker/sneaker-03-gray.png");
    BadInputException e = assertThrows(BadInputException.class, () -> TfRecordReader.open(png));
    assertEquals(png + "@0", e.origin());
  }

  // ---- TfRecordSource ---------------------------------------------------------------------------

  @Test
  void fixtureHoldsTheFirst64FashionMnistTestImagesLosslessly() {
    IdxSource idx = IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 10);
    try (TfRecordSource s = TfRecordSource.open(TestData.TFRECORD.toString(), 0, 10);
        TfImageDecoder tf = new TfImageDecoder(1);
        JavaImageDecoder jv = new JavaImageDecoder()) {
      assertEquals(64, s.size());
      assertEquals(10, s.numClasses());
      for (int i = 0; i < 64; i++) {
        Record r = s.read(i);
        assertEquals(idx.read(i).label(), r.label(), "label " + i);
        assertTrue(r.origin().startsWith(TestData.TFRECORD + "@"), r.origin());
        float[] expected = idx.read(i).pixels().data();
        Image a = tf.decode(r.encoded(), 1, r.origin());
        Image b = jv.decode(r.encoded(), 1, r.origin());
        assertArrayEquals(expected, a.data(), 0f, "tf " + i);
        assertArrayEquals(expected, b.data(), 0f, "java " + i);
      }
      assertEquals(TestData.TFRECORD + "@0", s.read(0).origin());
    }
  }

  @Test
  void globAndFolderOpenShardsInSortedOrderIncludingEmptyOnes() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("shards"));
    // Written out of order; shard 1 is empty.
    writeExamples(dir.resolve("train-00002-of-00003"), 20, 3);
    writeExamples(dir.resolve("train-00000-of-00003"), 0, 2);
    writeExamples(dir.resolve("train-00001-of-00003"), 10, 0);
    Files.writeString(dir.resolve("README.txt"), "not a shard");
    Files.writeString(dir.resolve(".hidden"), "ignored");
    try (TfRecordSource glob = TfRecordSource.open(dir.resolve("train-*").toString())) {
      assertEquals(3, glob.shards().size());
      assertEquals(5, glob.size());
      int[] labels = new int[5];
      for (int i = 0; i < 5; i++) {
        labels[i] = glob.read(i).label();
        assertEquals(i, glob.read(i).index());
      }
      assertArrayEquals(new int[] {0, 1, 20, 21, 22}, labels);
      assertTrue(glob.read(2).origin().startsWith(dir.resolve("train-00002-of-00003") + "@0"));
      assertTrue(glob.describe().contains("3 shards, 5 examples"), glob.describe());
    }
    Files.delete(dir.resolve("README.txt"));
    try (TfRecordSource folder = TfRecordSource.open(dir.toString())) {
      assertEquals(5, folder.size());
      assertEquals(22, folder.read(4).label());
    }
  }

  @Test
  void globWithoutMatchesIsAnError() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("none"));
    String glob = dir.resolve("train-*").toString();
    BadInputException e = assertThrows(BadInputException.class, () -> TfRecordSource.open(glob));
    assertEquals(glob + ": no files match", e.getMessage());
    BadInputException missing =
        assertThrows(
            BadInputException.class,
            () -> TfRecordSource.open(dir.resolve("x.tfrecord").toString()));
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
  }

  @Test
  void labelOffsetMapsImageNetStyleOneBasedLabels() throws IOException {
    Path f = tmp.resolve("imagenet.tfrecord");
    try (TfRecordWriter w = TfRecordWriter.create(f)) {
      for (int label = 1; label <= 10; label++) {
        w.write(TfRecordWriter.imageExample(new byte[] {1, 2, 3}, "jpeg", 1, 1, label));
      }
    }
    try (TfRecordSource s = TfRecordSource.open(f.toString(), 1, 10)) {
      for (int i = 0; i < 10; i++) {
        assertEquals(i, s.read(i).label());
      }
      assertTrue(s.describe().contains("label offset 1"), s.describe());
    }
    try (TfRecordSource s = TfRecordSource.open(f.toString(), 0, 10)) {
      assertEquals(9, s.read(8).label());
      BadInputException e = assertThrows(BadInputException.class, () -> s.read(9));
      assertEquals(s.shards().get(0).origin(9), e.origin());
      assertTrue(
          e.getMessage()
              .endsWith(
                  "label 10 (image/class/label 10 minus label offset 0) is outside [0, 10);"
                      + " 1-based labels (ImageNet) need label offset 1"),
          e.getMessage());
    }
  }

  @Test
  void recordsThatAreNotImageExamplesAreBadInput() throws IOException {
    Path f = tmp.resolve("odd.tfrecord");
    Example noImage =
        Example.newBuilder()
            .setFeatures(
                Features.newBuilder()
                    .putFeature(
                        "image/raw",
                        Feature.newBuilder()
                            .setBytesList(
                                BytesList.newBuilder().addValue(ByteString.copyFromUtf8("x")))
                            .build()))
            .build();
    Example unlabelled =
        Example.newBuilder()
            .setFeatures(
                Features.newBuilder()
                    .putFeature(
                        TfRecordSource.IMAGE_KEY,
                        Feature.newBuilder()
                            .setBytesList(
                                BytesList.newBuilder().addValue(ByteString.copyFromUtf8("img")))
                            .build()))
            .build();
    try (TfRecordWriter w = TfRecordWriter.create(f)) {
      w.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}); // not a protobuf
      w.write(noImage);
      w.write(unlabelled);
    }
    try (TfRecordSource s = TfRecordSource.open(f.toString())) {
      BadInputException notProto = assertThrows(BadInputException.class, () -> s.read(0));
      assertTrue(
          notProto.getMessage().startsWith(f + "@0: record is not a tf.train.Example"),
          notProto.getMessage());
      BadInputException missing = assertThrows(BadInputException.class, () -> s.read(1));
      assertEquals(
          f + "@19: example has no image/encoded bytes (features: [image/raw])",
          missing.getMessage());
      Record r = s.read(2);
      assertEquals(-1, r.label());
      assertEquals("img", new String(r.encoded(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void concurrentReadsReturnTheSameRecordsAsSequentialOnes() throws Exception {
    try (TfRecordSource s = TfRecordSource.open(TestData.TFRECORD.toString())) {
      byte[][] expected = new byte[s.size()][];
      for (int i = 0; i < s.size(); i++) {
        expected[i] = s.read(i).encoded();
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          int seed = t;
          fs.add(
              pool.submit(
                  () -> {
                    Random r = new Random(seed);
                    for (int k = 0; k < 500; k++) {
                      int i = r.nextInt(expected.length);
                      assertArrayEquals(expected[i], s.read(i).encoded());
                    }
                  }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void anInterruptedReaderDoesNotBreakTheShardForOtherThreads() throws Exception {
    try (TfRecordReader r = TfRecordReader.open(TestData.TFRECORD)) {
      byte[] first = r.read(0);
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      Thread t =
          new Thread(
              () -> {
                Thread.currentThread()
                    .interrupt(); // the channel read sees the interrupt and closes the channel
                try {
                  r.read(1);
                } catch (Throwable e) {
                  thrown.set(e);
                }
              });
      t.start();
      t.join();
      assertTrue(thrown.get() instanceof UncheckedIOException, String.valueOf(thrown.get()));
      assertArrayEquals(first, r.read(0)); // reopened for everyone else
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private static List<byte[]> randomRecords(int[] lengths, long seed) {
    Random r = new Random(seed);
    List<byte[]> out = new ArrayList<>();
    for (int len : lengths) {
      byte[] b = new byte[len];
      r.nextBytes(b);
      out.add(b);
    }
    return out;
  }

  private static Path write(Path f, List<byte[]> records) throws IOException {
    try (TfRecordWriter w = TfRecordWriter.create(f)) {
      for (byte[] b : records) {
        w.write(b);
      }
    }
    return f;
  }

  private static void writeExamples(Path f, int firstLabel, int n) throws IOException {
    try (TfRecordWriter w = TfRecordWriter.create(f)) {
      for (int i = 0; i < n; i++) {
        w.write(TfRecordWriter.imageExample(new byte[] {(byte) i}, "png", 1, 1, firstLabel + i));
      }
    }
  }

  private static int leInt(byte[] b, int i) {
    return (b[i] & 0xff)
        | (b[i + 1] & 0xff) << 8
        | (b[i + 2] & 0xff) << 16
        | (b[i + 3] & 0xff) << 24;
  }
}
