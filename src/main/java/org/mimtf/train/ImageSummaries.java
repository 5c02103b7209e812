package org.mimtf.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.train.log.RunLog;
import org.mimtf.util.ImageGrid;
import org.tensorflow.types.TFloat32;

/**
 * The method's images of one step (e.g. CCViT's original / corrupted input / reconstruction), as a
 * TensorBoard image per name and one PNG ({@code <run_dir>/images/step-<n>.png}: a row per example,
 * a column per name) so a person can look at them without TensorBoard.
 */
final class ImageSummaries {
  private static final int MAX_IMAGES = 8;
  private final Map<String, float[]> images = new LinkedHashMap<>();
  private int h;
  private int w;
  private int c;
  private int n;

  /** Collects one named batch [B, H, W, C] in [0, 1]. */
  void add(String name, TFloat32 t) {
    long[] s = t.shape().asArray();
    n = (int) Math.min(MAX_IMAGES, s[0]);
    h = (int) s[1];
    w = (int) s[2];
    c = (int) s[3];
    float[] data = new float[(int) t.shape().size()];
    t.asRawTensor().data().asFloats().read(data);
    images.put(name, data);
  }

  boolean isEmpty() {
    return images.isEmpty();
  }

  /** Writes the TensorBoard images and the PNG. */
  void write(RunLog log, Path runDir, long step) {
    if (images.isEmpty()) {
      return;
    }
    int scale = Math.max(1, 96 / Math.max(h, w));
    List<String> names = new ArrayList<>(images.keySet());
    for (String name : names) {
      int cols = Math.min(8, n);
      int rows = (n + cols - 1) / cols;
      ImageGrid grid = new ImageGrid(rows, cols, h, w, scale);
      for (int i = 0; i < n; i++) {
        grid.put(i / cols, i % cols, images.get(name), i * h * w * c, c);
      }
      log.events().image("images/" + name, step, grid.png(), grid.image().getHeight(), grid.image().getWidth(), 3);
    }
    ImageGrid all = new ImageGrid(n, names.size(), h, w, scale);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < names.size(); j++) {
        all.put(i, j, images.get(names.get(j)), i * h * w * c, c);
      }
    }
    all.write(runDir.resolve("images").resolve("step-" + step + ".png"));
    images.clear();
  }
}
