package org.mimtf.data.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.mimtf.data.Image;
import org.mimtf.data.decode.ImageFormat;
import org.mimtf.data.decode.TfImageDecoder;

class SyntheticJpegSourceTest {
  @Test
  void sameSeedGivesTheSameBytesAndOtherSeedsDiffer() {
    SyntheticJpegSource a = new SyntheticJpegSource(4, 64, 90, 0, 42);
    SyntheticJpegSource b = new SyntheticJpegSource(4, 64, 90, 0, 42);
    SyntheticJpegSource c = new SyntheticJpegSource(4, 64, 90, 0, 43);
    for (int i = 0; i < 4; i++) {
      assertArrayEquals(a.read(i).encoded(), b.read(i).encoded());
      assertFalse(Arrays.equals(a.read(i).encoded(), c.read(i).encoded()));
    }
    assertFalse(Arrays.equals(a.read(0).encoded(), a.read(1).encoded()));
  }

  @Test
  void imagesAreJpegsOfTheRequestedSizeWithContent() {
    SyntheticJpegSource s = new SyntheticJpegSource(3, 96, 90, 5, 0);
    try (TfImageDecoder tf = new TfImageDecoder()) {
      for (int i = 0; i < 3; i++) {
        Record r = s.read(i);
        assertEquals(ImageFormat.JPEG, ImageFormat.detect(r.encoded()));
        assertEquals(i % 5, r.label());
        Image img = tf.decode(r.encoded(), 3, r.origin());
        assertEquals(96, img.height());
        assertEquals(96, img.width());
        double mean = 0;
        double sq = 0;
        for (float v : img.data()) {
          mean += v;
          sq += v * v;
        }
        mean /= img.data().length;
        double std = Math.sqrt(sq / img.data().length - mean * mean);
        assertTrue(std > 0.05, "image " + i + " is nearly flat: std " + std);
      }
    }
  }

  @Test
  void benchImagesHaveAPhotoLikeCompressedSize() {
    // 256x256 q90: an ImageNet photo at that size is typically 15-40 KB. Smooth images come out at
    // a
    // few KB and noise at ~100 KB; either would make the decode benchmark meaningless.
    SyntheticJpegSource s = new SyntheticJpegSource(16, 256, 90, 0, 0);
    double kb = s.meanBytes() / 1024;
    assertTrue(kb > 12 && kb < 40, "mean JPEG size " + kb + " KB");
  }

  @Test
  void readsReturnCopies() {
    SyntheticJpegSource s = new SyntheticJpegSource(1, 16, 90, 0, 0);
    byte[] first = s.read(0).encoded();
    first[100] ^= 1;
    assertNotSame(first, s.read(0).encoded());
    assertFalse(Arrays.equals(first, s.read(0).encoded()));
  }
}
