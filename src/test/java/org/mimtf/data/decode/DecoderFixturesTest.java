package org.mimtf.data.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.mimtf.data.TestData;
import org.mimtf.data.source.IdxSource;

/**
 * Every fixture image through both decoders at both channel counts: sizes, channel counts,
 * agreement between the decoders, and agreement with the Fashion-MNIST pixels the fixtures were
 * made from.
 */
class DecoderFixturesTest {
  private static TfImageDecoder tf;
  private static JavaImageDecoder jv;
  private static IdxSource fashionTest;

  @BeforeAll
  static void open() {
    tf = new TfImageDecoder(2);
    jv = new JavaImageDecoder();
    fashionTest = IdxSource.open(TestData.TEST_IMAGES, TestData.TEST_LABELS, 10);
  }

  @AfterAll
  static void close() {
    tf.close();
    jv.close();
  }

  /** file, height, width, whether the Java decoder can read it. */
  static Stream<Arguments> fixtures() {
    return Stream.of(
        Arguments.of("bag/bag-00-rgb-baseline.jpg", 28, 28, true),
        Arguments.of("bag/bag-01-gray.jpg", 28, 28, true),
        Arguments.of("bag/bag-02-progressive.jpg", 28, 28, true),
        Arguments.of("bag/bag-03-cmyk.jpg", 28, 28, false),
        Arguments.of("sneaker/sneaker-00-palette.png", 28, 28, true),
        Arguments.of("sneaker/sneaker-01-rgba.png", 28, 28, true),
        Arguments.of("sneaker/sneaker-02-gray16.png", 28, 28, true),
        Arguments.of("sneaker/sneaker-03-gray.png", 28, 28, true),
        Arguments.of("trouser/trouser-00-40x23.jpg", 23, 40, true),
        Arguments.of("trouser/trouser-01-anim.gif", 28, 28, true),
        Arguments.of("trouser/trouser-02-17x31.bmp", 31, 17, true),
        Arguments.of("trouser/trouser-03-rgb16-57x19.png", 19, 57, true));
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void bothDecodersGiveTheRequestedChannelsAtTheFileSize(
      String file, int h, int w, boolean javaReads) {
    byte[] bytes = TestData.bytes(TestData.image(file));
    for (int c : new int[] {1, 3}) {
      Image t = tf.decode(bytes, c, file);
      assertShape(t, h, w, c, "tf " + file);
      assertTrue(max(t) > 0.2f && min(t) < max(t), "tf decoded a blank image from " + file);
      if (javaReads) {
        assertShape(jv.decode(bytes, c, file), h, w, c, "java " + file);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void decodersAgreeExactlyOnLosslessFormatsAndClosely(
      String file, int h, int w, boolean javaReads) {
    if (!javaReads) {
      return;
    }
    byte[] bytes = TestData.bytes(TestData.image(file));
    boolean lossless = !file.endsWith(".jpg");
    for (int c : new int[] {1, 3}) {
      Image t = tf.decode(bytes, c, file);
      Image j = jv.decode(bytes, c, file);
      int diff = maxDiff255(t, j);
      // libjpeg-turbo (TF) and the JDK's libjpeg 6b with the same ISLOW IDCT agree to the bit on
      // these files; allow 2/255 for other builds' rounding in colour conversion and upsampling.
      assertTrue(
          lossless ? diff == 0 : diff <= 2, file + " c=" + c + ": max difference " + diff + "/255");
    }
  }

  @Test
  void cmykJpegDecodesWithTensorFlowAndIsRefusedClearlyByJava() {
    byte[] bytes = TestData.bytes(TestData.image("bag/bag-03-cmyk.jpg"));
    Image rgb = tf.decode(bytes, 3, "cmyk.jpg");
    // Same garment, tinted the same way, as the baseline RGB JPEG of another bag: the background
    // (top-left pixel, 0 in Fashion-MNIST) must come out as the dark tint #1e3c78, not inverted.
    assertEquals(0x1e, Math.round(rgb.get(0, 0, 0) * 255), 3);
    assertEquals(0x3c, Math.round(rgb.get(0, 0, 1) * 255), 3);
    assertEquals(0x78, Math.round(rgb.get(0, 0, 2) * 255), 3);
    Image gray = tf.decode(bytes, 1, "cmyk.jpg");
    assertEquals(lumaOf(rgb, 0, 0), gray.get(0, 0, 0), 1.5f / 255);
    BadInputException e =
        assertThrows(BadInputException.class, () -> jv.decode(bytes, 3, "x/cmyk.jpg"));
    assertTrue(e.getMessage().startsWith("x/cmyk.jpg: "), e.getMessage());
    assertTrue(e.getMessage().contains("CMYK"), e.getMessage());
    assertTrue(e.getMessage().contains("TENSORFLOW"), e.getMessage());
  }

  @Test
  void grayPngsHoldExactlyTheFashionMnistPixelsTheyWereMadeFrom() {
    // make-fixtures.sh prints the source of each fixture: sneaker-03 is t10k #36, sneaker-02 #22.
    assertPixelsEqual(fashionTest.read(36).pixels(), "sneaker/sneaker-03-gray.png");
    assertPixelsEqual(fashionTest.read(22).pixels(), "sneaker/sneaker-02-gray16.png");
  }

  private static void assertPixelsEqual(Image expected, String file) {
    byte[] bytes = TestData.bytes(TestData.image(file));
    for (ImageDecoder d : new ImageDecoder[] {tf, jv}) {
      Image got = d.decode(bytes, 1, file);
      assertArrayEquals(expected.data(), got.data(), 0f, d.getClass().getSimpleName() + " " + file);
      Image rgb = d.decode(bytes, 3, file);
      for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++) {
          for (int ch = 0; ch < 3; ch++) {
            assertEquals(expected.get(y, x, 0), rgb.get(y, x, ch), 0f);
          }
        }
      }
    }
  }

  @Test
  void grayJpegMatchesItsSourceWithinJpegError() {
    // bag-01-gray.jpg is t10k #30 at quality 92.
    Image src = fashionTest.read(30).pixels();
    Image got = tf.decode(TestData.bytes(TestData.image("bag/bag-01-gray.jpg")), 1, "gray.jpg");
    double mean = 0;
    for (int i = 0; i < src.data().length; i++) {
      mean += Math.abs(src.data()[i] - got.data()[i]);
    }
    mean /= src.data().length;
    assertTrue(mean < 4.0 / 255, "mean abs error " + mean * 255 + "/255");
  }

  @Test
  void rgbaPngDropsAlphaInsteadOfCompositing() {
    // The RGBA fixture has 50% alpha everywhere; dropping alpha keeps the tint's dark background
    // #1e3c78 exactly (compositing over black or white would change it).
    Image img =
        tf.decode(TestData.bytes(TestData.image("sneaker/sneaker-01-rgba.png")), 3, "rgba.png");
    assertEquals(0x1e / 255f, img.get(0, 0, 0), 1e-6f);
    assertEquals(0x3c / 255f, img.get(0, 0, 1), 1e-6f);
    assertEquals(0x78 / 255f, img.get(0, 0, 2), 1e-6f);
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void truncatedImageIsBadInputNamingTheFile(String file, int h, int w, boolean javaReads) {
    byte[] bytes = TestData.bytes(TestData.image(file));
    byte[] cut = Arrays.copyOf(bytes, bytes.length / 2);
    String origin = "/data/" + file;
    for (ImageDecoder d : javaReads ? new ImageDecoder[] {tf, jv} : new ImageDecoder[] {tf}) {
      for (int c : new int[] {1, 3}) {
        BadInputException e =
            assertThrows(BadInputException.class, () -> d.decode(cut, c, origin), d + " " + file);
        assertEquals(origin, e.origin());
        assertTrue(e.getMessage().startsWith(origin + ": not a decodable image"), e.getMessage());
        assertFalse(
            e.getMessage().contains("{{node"), "TF graph internals leak: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "multi-line message: " + e.getMessage());
      }
    }
  }

  @Test
  void nonImageBytesAreBadInputShowingTheFirstBytes() {
    byte[] text = "hello, not an image".getBytes(StandardCharsets.US_ASCII);
    for (ImageDecoder d : new ImageDecoder[] {tf, jv}) {
      BadInputException e =
          assertThrows(BadInputException.class, () -> d.decode(text, 3, "notes.jpg"));
      assertEquals(
          "notes.jpg: not a decodable image (not JPEG, PNG, GIF or BMP: starts with 68 65 6c 6c 6f"
              + " 2c 20 6e, 19 bytes)",
          e.getMessage());
      assertThrows(BadInputException.class, () -> d.decode(new byte[0], 1, "empty.png"));
    }
  }

  @Test
  void corruptJpegBodyIsReportedWithTheCodecsReason() {
    byte[] bytes = TestData.bytes(TestData.image("bag/bag-00-rgb-baseline.jpg"));
    byte[] bad = bytes.clone();
    // Destroy the frame header's component count: libjpeg rejects the file.
    int sof = indexOfMarker(bad, 0xC0);
    bad[sof + 9] = 7;
    BadInputException e = assertThrows(BadInputException.class, () -> tf.decode(bad, 3, "b.jpg"));
    assertTrue(e.getMessage().startsWith("b.jpg: not a decodable image (JPEG: "), e.getMessage());
  }

  @Test
  void channelsOtherThanOneOrThreeAreRejected() {
    byte[] bytes = TestData.bytes(TestData.image("sneaker/sneaker-03-gray.png"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> tf.decode(bytes, 4, "x"));
    assertEquals("channels (4) must be 1 or 3", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> jv.decode(bytes, 2, "x"));
  }

  @Test
  void jpegComponentCountIsReadFromTheFrameHeader() {
    assertEquals(
        3, JpegInfo.components(TestData.bytes(TestData.image("bag/bag-00-rgb-baseline.jpg"))));
    assertEquals(1, JpegInfo.components(TestData.bytes(TestData.image("bag/bag-01-gray.jpg"))));
    assertEquals(
        3, JpegInfo.components(TestData.bytes(TestData.image("bag/bag-02-progressive.jpg"))));
    assertEquals(4, JpegInfo.components(TestData.bytes(TestData.image("bag/bag-03-cmyk.jpg"))));
    assertEquals(-1, JpegInfo.components(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}));
  }

  static int indexOfMarker(byte[] b, int marker) {
    for (int i = 2; i + 1 < b.length; i++) {
      if ((b[i] & 0xff) == 0xFF && (b[i + 1] & 0xff) == marker) {
        return i;
      }
    }
    throw new AssertionError("no marker " + Integer.toHexString(marker));
  }

  static void assertShape(Image img, int h, int w, int c, String what) {
    assertEquals(
        h + "x" + w + "x" + c, img.height() + "x" + img.width() + "x" + img.channels(), what);
  }

  static int maxDiff255(Image a, Image b) {
    assertEquals(a.toString(), b.toString());
    int m = 0;
    for (int i = 0; i < a.data().length; i++) {
      m = Math.max(m, Math.round(Math.abs(a.data()[i] - b.data()[i]) * 255));
    }
    return m;
  }

  private static float lumaOf(Image rgb, int y, int x) {
    return 0.299f * rgb.get(y, x, 0) + 0.587f * rgb.get(y, x, 1) + 0.114f * rgb.get(y, x, 2);
  }

  private static float max(Image img) {
    float m = Float.NEGATIVE_INFINITY;
    for (float v : img.data()) {
      m = Math.max(m, v);
    }
    return m;
  }

  private static float min(Image img) {
    float m = Float.POSITIVE_INFINITY;
    for (float v : img.data()) {
      m = Math.min(m, v);
    }
    return m;
  }
}
