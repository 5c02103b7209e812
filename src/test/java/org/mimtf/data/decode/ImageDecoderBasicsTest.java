package org.mimtf.data.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.data.Image;
import org.mimtf.data.TestData;
import org.mimtf.data.source.SyntheticJpegSource;

class ImageDecoderBasicsTest {
  @Test
  void formatIsSniffedFromContentForEveryFixture() throws Exception {
    try (Stream<Path> files = Files.walk(TestData.IMAGES)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        String name = p.getFileName().toString();
        String ext = name.substring(name.lastIndexOf('.') + 1);
        ImageFormat expected =
            switch (ext) {
              case "jpg" -> ImageFormat.JPEG;
              case "png" -> ImageFormat.PNG;
              case "gif" -> ImageFormat.GIF;
              case "bmp" -> ImageFormat.BMP;
              default -> throw new AssertionError(name);
            };
        assertEquals(expected, ImageFormat.detect(TestData.bytes(p)), name);
      }
    }
  }

  @Test
  void textThatStartsLikeAnImageIsNotAnImage() {
    assertNull(ImageFormat.detect("BM is a bitmap, or is it?".getBytes(StandardCharsets.US_ASCII)));
    assertNull(ImageFormat.detect("GIF89 without the a".getBytes(StandardCharsets.US_ASCII)));
    assertNull(ImageFormat.detect(new byte[] {(byte) 0xFF, (byte) 0xD8}));
    assertNull(ImageFormat.detect(new byte[0]));
    assertEquals(
        ImageFormat.JPEG, ImageFormat.detect(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}));
  }

  @Test
  void rgbToGrayUsesPillowsLuma() {
    // PIL: Image.new("RGB", (1, 1), c).convert("L") gives 76, 150, 29 for pure red, green, blue.
    assertEquals(76, Pixels.luma(255, 0, 0) & 0xff);
    assertEquals(150, Pixels.luma(0, 255, 0) & 0xff);
    assertEquals(29, Pixels.luma(0, 0, 255) & 0xff);
    assertEquals(255, Pixels.luma(255, 255, 255) & 0xff);
    for (int v = 0; v < 256; v++) {
      assertEquals(v, Pixels.luma(v, v, v) & 0xff, "gray stays gray");
    }
  }

  @Test
  void channelConversionReplicatesDropsAlphaAndComputesLuma() {
    byte[] gray = {10, (byte) 200};
    assertArrayEquals(
        new byte[] {10, 10, 10, (byte) 200, (byte) 200, (byte) 200}, Pixels.convert(gray, 1, 3));
    byte[] grayAlpha = {10, 0, (byte) 200, 99};
    assertArrayEquals(new byte[] {10, (byte) 200}, Pixels.convert(grayAlpha, 2, 1));
    byte[] rgba = {1, 2, 3, 4, 5, 6, 7, 8};
    assertArrayEquals(new byte[] {1, 2, 3, 5, 6, 7}, Pixels.convert(rgba, 4, 3));
    assertArrayEquals(new byte[] {76}, Pixels.convert(new byte[] {(byte) 255, 0, 0}, 3, 1));
    assertSame(gray, Pixels.convert(gray, 1, 1));
  }

  @Test
  void factoryBuildsTheRequestedDecoder() {
    try (ImageDecoder tf = ImageDecoders.create(DataConfig.Decoder.TENSORFLOW, 2);
        ImageDecoder jv = ImageDecoders.create(DataConfig.Decoder.JAVA, 2)) {
      assertInstanceOf(TfImageDecoder.class, tf);
      assertInstanceOf(JavaImageDecoder.class, jv);
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ImageDecoders.create(DataConfig.Decoder.JAVA, 0));
    assertEquals("data.workers (0) must be >= 1", e.getMessage());
  }

  @Test
  void tfDecoderGivesIdenticalResultsFromConcurrentCallers() throws Exception {
    List<byte[]> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(TestData.IMAGES)) {
      s.filter(Files::isRegularFile).sorted().forEach(p -> files.add(TestData.bytes(p)));
    }
    try (TfImageDecoder tf = new TfImageDecoder(4)) {
      List<float[]> expected = new ArrayList<>();
      for (byte[] f : files) {
        expected.add(tf.decode(f, 3, "x").data());
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          int offset = t;
          fs.add(
              pool.submit(
                  () -> {
                    for (int k = 0; k < 100; k++) {
                      int i = (k + offset) % files.size();
                      Image img = tf.decode(files.get(i), 3, "x");
                      assertArrayEquals(expected.get(i), img.data());
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
  void decodersAgreeOnPhotoLikeJpegs() {
    // 256x256 q90 synthetic JPEGs (4:2:0, grain, edges): both decoders use the accurate integer
    // IDCT and fancy upsampling, so they agree to the bit here; allow 2/255 for other builds.
    SyntheticJpegSource src = new SyntheticJpegSource(8, 256, 90, 0, 3);
    try (TfImageDecoder tf = new TfImageDecoder();
        JavaImageDecoder jv = new JavaImageDecoder()) {
      for (int i = 0; i < src.size(); i++) {
        byte[] jpeg = src.read(i).encoded();
        for (int c : new int[] {1, 3}) {
          float[] a = tf.decode(jpeg, c, "a").data();
          float[] b = jv.decode(jpeg, c, "b").data();
          assertEquals(a.length, b.length);
          double sum = 0;
          for (int k = 0; k < a.length; k++) {
            float d = Math.abs(a[k] - b[k]) * 255;
            assertTrue(d <= 2.01f, "image " + i + " c=" + c + " sample " + k + ": " + d + "/255");
            sum += d;
          }
          assertTrue(sum / a.length < 0.1, "mean difference " + sum / a.length + "/255");
        }
      }
    }
  }

  @Test
  void closedTfDecoderRefusesWork() {
    TfImageDecoder tf = new TfImageDecoder();
    tf.close();
    tf.close(); // idempotent
    assertThrows(IllegalStateException.class, () -> tf.decode(new byte[] {1}, 3, "x"));
  }
}
