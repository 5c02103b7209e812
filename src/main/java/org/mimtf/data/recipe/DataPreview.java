package org.mimtf.data.recipe;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.util.ImageGrid;

/**
 * {@code mimtf data preview}: a PNG grid of what the model will see — one row per example, one column
 * per view, then each view again with the mask drawn over it (masked patches red, CCViT's replaced
 * patches blue, MOCA's round-1 visible patches green).
 */
public final class DataPreview {
  private DataPreview() {}

  /** Writes the preview of {@code count} examples to {@code out}; returns the columns drawn. */
  public static List<String> write(Recipe r, List<SampleStage> extra, int count, Path out) {
    int size = r.getModel().getImageSize();
    int c = r.getModel().getChannels();
    int grid = size / r.getModel().getPatchSize();
    try (Pipeline p = PipelineFactory.training(r.getData(), r.getModel(), r.getMasking(), count,
        r.getTraining().getSeed(), extra, 0)) {
      Batch b = p.next();
      List<String> views = new ArrayList<>();
      for (FieldSpec f : b.specs().values()) {
        if (f.dtype() == FieldSpec.DType.FLOAT32 && f.shape().length == 3) {
          views.add(f.name());
        }
      }
      boolean mask = b.has("mask");
      boolean replaced = b.has("replaced");
      boolean orders = b.has("order1");
      int overlays = (mask || orders) ? views.size() : 0;
      List<String> columns = new ArrayList<>(views);
      for (String v : views.subList(0, overlays)) {
        columns.add(v + "+mask");
      }
      ImageGrid g = new ImageGrid(b.size(), columns.size(), size, size, Math.max(1, 112 / size));
      int per = size * size * c;
      int n = grid * grid;
      for (int i = 0; i < b.size(); i++) {
        for (int j = 0; j < views.size(); j++) {
          g.put(i, j, b.floats(views.get(j)), i * per, c);
        }
        for (int j = 0; j < overlays; j++) {
          int col = views.size() + j;
          g.put(i, col, b.floats(views.get(j)), i * per, c);
          if (mask) {
            g.overlay(i, col, b.bools("mask"), i * n, grid, 0xe04040, 0.6f);
          }
          if (replaced) {
            g.overlay(i, col, b.bools("replaced"), i * n, grid, 0x4060ff, 0.6f);
          }
          if (orders) {
            boolean[] visible = visibleOfRound1(b, i, j, n, r);
            g.overlay(i, col, visible, 0, grid, 0x40c040, 0.5f);
          }
        }
      }
      g.write(out);
      return columns;
    }
  }

  private static boolean[] visibleOfRound1(Batch b, int example, int copy, int n, Recipe r) {
    int copies = b.spec("order1").shape()[0] > 0 ? (int) b.spec("order1").shape()[0] : 1;
    int c = Math.min(copy, copies - 1);
    int keep = r.getMasking().getComplementary().getNumVisibleFirst();
    boolean[] v = new boolean[n];
    int[] order = b.ints("order1");
    int base = (example * copies + c) * n;
    for (int k = 0; k < keep; k++) {
      v[order[base + k]] = true;
    }
    return v;
  }
}
