package org.mimtf.teachers;

import org.mimtf.api.BatchModel;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;

/**
 * Fills {@code field} [N, D] with a frozen teacher's per-patch features of the batch's view
 * {@code view} (images in [0, 1]): the regression targets of VQ-KD and SMR.
 */
public final class TeacherFeatures implements BatchModel {
  private final SavedModelTeacher teacher;
  private final String view;
  private final FieldSpec spec;
  private final int imageSize;
  private final int channels;

  public TeacherFeatures(SavedModelTeacher teacher, String view, String field, int imageSize, int channels) {
    this.teacher = teacher;
    this.view = view;
    this.imageSize = imageSize;
    this.channels = channels;
    int d = teacher.dim() > 0 ? teacher.dim() : teacher.probeDim(imageSize, channels);
    this.spec = FieldSpec.of(field, FieldSpec.DType.FLOAT32, teacher.patches(), d);
  }

  @Override
  public FieldSpec field() {
    return spec;
  }

  public int dim() {
    return (int) spec.shape()[1];
  }

  @Override
  public void fill(Batch b) {
    float[] f = teacher.features(b.floats(view), b.size(), imageSize, channels);
    System.arraycopy(f, 0, b.floats(spec.name()), 0, f.length);
  }

  @Override
  public void close() {
    teacher.close();
  }
}
