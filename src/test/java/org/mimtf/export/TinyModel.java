package org.mimtf.export;

import java.nio.file.Path;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/** Exports a tiny classifier SavedModel: images [-1, 4, 4, 1] → cls [-1, 3], one variable enc/w [16, 3]. */
public final class TinyModel {
  private TinyModel() {}

  public static Path export(Path dir) {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, 4, 4, 1)));
      Variable<TFloat32> w = tf.withSubScope("enc").withName("w")
          .variable(tf.fill(tf.constant(new int[] {16, 3}), tf.constant(0.5f)));
      var flat = tf.reshape(x, tf.constant(new int[] {-1, 16}));
      var y = tf.withName("y").linalg.matMul(flat, tf.identity(w));
      Signature sig = Signature.builder().key("serving_default").input("images", x).output("cls", y)
          .methodName("tensorflow/serving/predict").build();
      SavedModelBundle.exporter(dir.toString()).withFunction(SessionFunction.create(sig, s)).export();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return dir;
  }
}
