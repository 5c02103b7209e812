package org.mimtf.tokenizers;

import java.nio.file.Path;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Patches;
import org.mimtf.nn.VitConfig;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The CCViT tokenizer as a SavedModel: input {@code images} float32 [B, H, W, C] in [0, 1]; outputs
 * {@code token_ids} int32 [B, N] (nearest centroid per patch) and {@code centroid_patches} float32
 * [B, N, C·P·P] (the pixels of those centroids, (c, py, px) order) and {@code quantized_images}
 * [B, H, W, C] (the image rebuilt from its centroids).
 */
public final class CentroidTokenizerModel {
  public static final String INPUT = "images";
  public static final String TOKEN_IDS = "token_ids";
  public static final String CENTROID_PATCHES = "centroid_patches";
  public static final String QUANTIZED = "quantized_images";

  private CentroidTokenizerModel() {}

  public static void export(float[] centroids, int k, VitConfig vit, Path dir) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      int pd = vit.patchDim();
      Variable<TFloat32> table = tf.withName("centroids").variable(
          tf.reshape(tf.constant(centroids), tf.constant(new long[] {k, pd})));
      Operand<TFloat32> read = tf.identity(table);
      Placeholder<TFloat32> images = tf.withName(INPUT).placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, vit.imageSize(), vit.imageSize(), vit.channels())));
      Operand<TFloat32> patches = Patches.patchify(tf, images, vit.imageSize(), vit.patchSize(), vit.channels());
      Operand<TInt32> flat = CentroidAssign.ids(tf, Compute.fp32(), tf.reshape(patches, tf.constant(new int[] {-1, pd})),
          read);
      Operand<TInt32> ids = tf.withName(TOKEN_IDS).reshape(flat, tf.constant(new int[] {-1, vit.numPatches()}));
      Operand<TFloat32> cp = tf.withName(CENTROID_PATCHES).gather(read, ids, tf.constant(0));
      Operand<TFloat32> q = tf.withName(QUANTIZED).identity(
          Patches.unpatchify(tf, cp, vit.imageSize(), vit.patchSize(), vit.channels()));
      try (Session s = new Session(g)) {
        s.initialize();
        Signature sig = Signature.builder().key(Signature.DEFAULT_KEY).methodName("tensorflow/serving/predict")
            .input(INPUT, images).output(TOKEN_IDS, ids).output(CENTROID_PATCHES, cp).output(QUANTIZED, q).build();
        SavedModelBundle.exporter(dir.toString()).withTags("serve").withFunction(SessionFunction.create(sig, s))
            .export();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot export the tokenizer to " + dir + ": " + e.getMessage(), e);
      }
    }
  }
}
