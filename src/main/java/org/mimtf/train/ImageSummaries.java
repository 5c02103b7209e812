package org.mimtf.train;

import org.mimtf.train.log.EventWriter;
import org.mimtf.util.ImageGrid;
import org.tensorflow.types.TFloat32;

/** Writes a batch of images [B, H, W, C] in [0, 1] as one grid image to TensorBoard. */
final class ImageSummaries {
  private static final int MAX_IMAGES = 16;

  private ImageSummaries() {}

  static void write(EventWriter events, String tag, long step, TFloat32 images) {
    long[] s = images.shape().asArray();
    int n = (int) Math.min(MAX_IMAGES, s[0]);
    int h = (int) s[1];
    int w = (int) s[2];
    int c = (int) s[3];
    float[] data = new float[(int) images.shape().size()];
    images.asRawTensor().data().asFloats().read(data);
    int cols = Math.min(8, n);
    int rows = (n + cols - 1) / cols;
    int scale = Math.max(1, 96 / Math.max(h, w));
    ImageGrid grid = new ImageGrid(rows, cols, h, w, scale);
    for (int i = 0; i < n; i++) {
      grid.put(i / cols, i % cols, data, i * h * w * c, c);
    }
    events.image(tag, step, grid.png(), grid.image().getHeight(), grid.image().getWidth(), 3);
  }
}
