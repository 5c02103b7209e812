package org.mimtf.teachers;

import org.mimtf.api.BatchModel;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;

/** Fills {@code field} [N] with a frozen tokenizer's code ids of the batch's view (BEiT v2 targets). */
public final class TokenizerIds implements BatchModel {
  private final SavedModelTeacher tokenizer;
  private final String view;
  private final FieldSpec spec;
  private final int imageSize;
  private final int channels;

  public TokenizerIds(SavedModelTeacher tokenizer, String view, String field, int imageSize, int channels) {
    this.tokenizer = tokenizer;
    this.view = view;
    this.imageSize = imageSize;
    this.channels = channels;
    this.spec = FieldSpec.of(field, FieldSpec.DType.INT32, tokenizer.patches());
  }

  @Override
  public FieldSpec field() {
    return spec;
  }

  @Override
  public void fill(Batch b) {
    int[] ids = tokenizer.ids(b.floats(view), b.size(), imageSize, channels);
    System.arraycopy(ids, 0, b.ints(spec.name()), 0, ids.length);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
