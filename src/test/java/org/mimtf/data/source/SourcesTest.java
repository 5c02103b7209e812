package org.mimtf.data.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.data.BadInputException;
import org.mimtf.data.TestData;

/** Builder tests: a tiny inline pbtxt per case, as the recipe would state it. */
class SourcesTest {
  @TempDir Path tmp;

  private static SourceConfig pbtxt(String text) throws TextFormat.ParseException {
    return TextFormat.parse(text, SourceConfig.class);
  }

  @Test
  void idxPathsResolveAgainstTheRecipeFolder() throws Exception {
    SourceConfig cfg =
        pbtxt(
            "kind: IDX path: 'fashion-mnist/t10k-images-idx3-ubyte.gz'"
                + " labels_path: 'fashion-mnist/t10k-labels-idx1-ubyte.gz' num_classes: 10");
    try (Source s = Sources.open(cfg, TestData.ROOT)) {
      assertInstanceOf(IdxSource.class, s);
      assertEquals(1000, s.size());
      assertEquals(9, s.read(0).label());
    }
  }

  @Test
  void relativePathsFallBackToTheWorkingDirectory() throws Exception {
    // Tests run in the project root, where test-data/ is; the recipe folder (tmp) has no such file.
    SourceConfig cfg = pbtxt("kind: IMAGE_FOLDER path: 'test-data/images'");
    try (Source s = Sources.open(cfg, tmp)) {
      assertEquals(12, s.size());
      assertEquals(3, s.numClasses());
    }
  }

  @Test
  void limitKeepsTheFirstExamples() throws Exception {
    SourceConfig cfg =
        pbtxt(
            "kind: IDX path: '"
                + TestData.TRAIN_IMAGES
                + "' labels_path: '"
                + TestData.TRAIN_LABELS
                + "' limit: 7");
    try (Source s = Sources.open(cfg, null)) {
      assertEquals(7, s.size());
      assertEquals(2, s.read(5).label());
      assertThrows(IndexOutOfBoundsException.class, () -> s.read(7));
      assertTrue(s.describe().endsWith(", first 7"), s.describe());
      assertEquals(10, s.numClasses());
    }
    // A limit above the size is no limit.
    SourceConfig big = pbtxt("kind: IMAGE_FOLDER path: '" + TestData.IMAGES + "' limit: 1000");
    assertEquals(12, Sources.open(big, null).size());
  }

  @Test
  void missingIdxPathNamesTheFieldAndThePath() throws Exception {
    SourceConfig cfg = pbtxt("kind: IDX path: '/x/y'");
    BadInputException e = assertThrows(BadInputException.class, () -> Sources.open(cfg, tmp));
    assertEquals(
        "data.source.path: /x/y does not exist (expected an IDX images file)", e.getMessage());
  }

  @Test
  void missingRelativePathListsBothPlacesLookedIn() throws Exception {
    SourceConfig cfg = pbtxt("kind: IDX path: 'nope.gz'");
    BadInputException e =
        assertThrows(BadInputException.class, () -> Sources.open(cfg, tmp, "eval.test"));
    Path cwd = Path.of("").toAbsolutePath();
    assertEquals(
        "eval.test.path: nope.gz does not exist (looked for "
            + tmp.resolve("nope.gz")
            + " and "
            + cwd.resolve("nope.gz")
            + "; expected an IDX images file)",
        e.getMessage());
  }

  @Test
  void missingLabelsPathNamesItsField() throws Exception {
    SourceConfig cfg =
        pbtxt("kind: IDX path: '" + TestData.TEST_IMAGES + "' labels_path: '/no/labels.gz'");
    BadInputException e = assertThrows(BadInputException.class, () -> Sources.open(cfg, null));
    assertEquals(
        "data.source.labels_path: /no/labels.gz does not exist (expected an IDX labels file)",
        e.getMessage());
  }

  @Test
  void tfrecordGlobResolvesItsFolder() throws Exception {
    SourceConfig cfg = pbtxt("kind: TFRECORD path: 'tfrecord/fmnist-*.tfrecord' num_classes: 10");
    try (Source s = Sources.open(cfg, TestData.ROOT)) {
      assertInstanceOf(TfRecordSource.class, s);
      assertEquals(64, s.size());
    }
    SourceConfig missing = pbtxt("kind: TFRECORD path: '/data/none/train-*'");
    BadInputException e = assertThrows(BadInputException.class, () -> Sources.open(missing, tmp));
    assertEquals(
        "data.source.path: /data/none/train-* does not exist (looked for /data/none;"
            + " its folder does not exist; expected a glob such as /data/train-*)",
        e.getMessage());
  }

  @Test
  void imageFolderClassCountMustMatchNumClasses() throws Exception {
    SourceConfig cfg = pbtxt("kind: IMAGE_FOLDER path: '" + TestData.IMAGES + "' num_classes: 10");
    BadInputException e = assertThrows(BadInputException.class, () -> Sources.open(cfg, null));
    assertEquals(
        "data.source.num_classes: 10 but "
            + TestData.IMAGES
            + " has 3 class sub-folders [bag, sneaker, trouser]",
        e.getMessage());
  }

  @Test
  void idxLabelOutOfRangeIsReported() throws Exception {
    SourceConfig cfg =
        pbtxt(
            "kind: IDX path: '"
                + TestData.TEST_IMAGES
                + "' labels_path: '"
                + TestData.TEST_LABELS
                + "' num_classes: 3");
    BadInputException e = assertThrows(BadInputException.class, () -> Sources.open(cfg, null));
    assertTrue(e.getMessage().contains("label 9 is outside [0, 3)"), e.getMessage());
  }

  @Test
  void syntheticSourceUsesItsSettings() throws Exception {
    SourceConfig cfg =
        pbtxt("kind: SYNTHETIC synthetic_count: 3 synthetic_size: 32 synthetic_jpeg_quality: 75");
    try (Source s = Sources.open(cfg, null)) {
      assertEquals(3, s.size());
      assertTrue(s.describe().startsWith("synthetic 3 JPEGs 32x32 q75"), s.describe());
    }
  }

  @Test
  void settingsThatAreWrongOnTheirFaceAreRejectedWithTheField() throws Exception {
    IllegalArgumentException unset =
        assertThrows(IllegalArgumentException.class, () -> Sources.open(pbtxt("path: 'x'"), null));
    assertEquals(
        "data.source.kind is not set (expected IDX, IMAGE_FOLDER, TFRECORD or SYNTHETIC)",
        unset.getMessage());
    IllegalArgumentException limit =
        assertThrows(
            IllegalArgumentException.class,
            () -> Sources.open(pbtxt("kind: IDX path: 'x' limit: -1"), null));
    assertEquals("data.source.limit (-1) must be >= 0 (0 = all)", limit.getMessage());
    IllegalArgumentException labels =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Sources.open(
                    pbtxt("kind: TFRECORD path: 'x' labels_path: 'y'"), null, "eval.train"));
    assertEquals(
        "eval.train.labels_path is only used by IDX sources, but kind is TFRECORD",
        labels.getMessage());
    BadInputException empty =
        assertThrows(
            BadInputException.class, () -> Sources.open(pbtxt("kind: IMAGE_FOLDER"), null));
    assertEquals(
        "data.source.path: is not set (expected a folder root/<class>/<images>)",
        empty.getMessage());
    IllegalArgumentException quality =
        assertThrows(
            IllegalArgumentException.class,
            () -> Sources.open(pbtxt("kind: SYNTHETIC synthetic_jpeg_quality: 101"), null));
    assertEquals("synthetic_jpeg_quality (101) must be in [1, 100]", quality.getMessage());
  }
}
