package org.mimtf.finetune;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.FinetuneConfig;
import org.mimtf.export.EncoderExporter;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VitConfig;
import org.mimtf.util.Files2;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.image.DecodeImage;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;

/**
 * Exports a fine-tuned classifier as a SavedModel ({@code <dir>/<name>/<version>/}, tag {@code serve})
 * that TF Serving serves as it is, with three signatures over one set of variables:
 * <ul>
 *   <li>{@code serving_default} ({@code tensorflow/serving/predict}): {@code images} float32
 *       [batch, H, W, C] in [0, 1] (as the encoder export) → {@code logits} [batch, classes],
 *       {@code probabilities} (softmax), {@code top_k} int32 [batch, k] class ids (best first) and
 *       {@code top_k_scores};
 *   <li>{@code image_bytes} ({@code tensorflow/serving/predict}): {@code image_bytes} string [batch]
 *       of JPEG/PNG/GIF/BMP file contents, decoded ({@code C} channels) and resized bilinearly to
 *       H×W inside the graph → the same outputs;
 *   <li>{@code tensorflow/serving/classify} (method {@code tensorflow/serving/classify}, TF Serving's
 *       Classify API): {@code inputs} string [batch] of serialized {@code tf.train.Example} with the
 *       file in {@code image/encoded} → {@code classes} string [batch, classes] (the class names) and
 *       {@code scores} [batch, classes] (probabilities).
 * </ul>
 * The per-image decode runs in a {@code MapDefun} op over the batch. Class names are an asset
 * ({@code assets/class_names.txt}, one per line, line i = id i) and a constant of the graph.
 */
public final class ClassifierExporter {
  public static final String IMAGES = "images";
  public static final String IMAGE_BYTES = "image_bytes";
  public static final String EXAMPLES = "inputs";
  public static final String LOGITS = "logits";
  public static final String PROBABILITIES = "probabilities";
  public static final String TOP_K = "top_k";
  public static final String TOP_K_SCORES = "top_k_scores";
  public static final String CLASSIFY = "tensorflow/serving/classify";
  public static final String CLASS_NAMES_ASSET = "class_names.txt";

  private ClassifierExporter() {}

  /**
   * Exports the classifier restored from {@code checkpoint} (null: initial weights) to {@code dir},
   * replacing an older export there.
   */
  public static Path export(VitConfig vit, FinetuneConfig ft, List<String> classNames, Path checkpoint, Path dir,
      Map<String, String> extras) {
    return export(vit, ft, classNames, checkpoint, dir, extras, "");
  }

  /**
   * Like {@link #export(VitConfig, FinetuneConfig, List, Path, Path, Map)}, reading the checkpoint's
   * {@code sourceScope}{@code <name>} tensors: {@code "ema/"} exports the weight EMA of
   * {@code finetune.model_ema} under the plain names.
   */
  public static Path export(VitConfig vit, FinetuneConfig ft, List<String> classNames, Path checkpoint, Path dir,
      Map<String, String> extras, String sourceScope) {
    int classes = classNames.size();
    int k = Math.min(ft.getTopK(), classes);
    try {
      Files2.deleteRecursively(dir);
      Files.createDirectories(dir.getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(vit.initSeed()));
      Classifier model = Classifier.create(ps, tf, vit, classes, ft.getPool(), ft.getHeadInitStd());
      Compute c = Compute.fp32();
      int size = vit.imageSize();

      Placeholder<TFloat32> images = tf.withName(IMAGES).placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, size, size, vit.channels())));
      Heads direct = heads(tf.withSubScope("predict"), model.logits(tf.withSubScope("predict"), c, images, null), k);

      Placeholder<TString> bytes = tf.withName(IMAGE_BYTES).placeholder(TString.class,
          Placeholder.shape(Shape.of(-1)));
      Ops bt = tf.withSubScope("bytes");
      Heads fromBytes = heads(bt, model.logits(bt, c, decode(bt, bytes, size, vit.channels()), null), k);

      Placeholder<TString> examples = tf.withName(EXAMPLES).placeholder(TString.class,
          Placeholder.shape(Shape.of(-1)));
      Ops ct = tf.withSubScope("classify");
      var parsed = ct.io.parseExample(examples, emptyStrings(ct), emptyStrings(ct),
          ct.constant(StdArrays.ndCopyOf(new String[] {"image/encoded"})), emptyStrings(ct),
          List.of(emptyStrings(ct)), 0L, List.of(), List.of(), List.of(),
          List.of(Shape.scalar()));
      @SuppressWarnings("unchecked")
      Operand<TString> encoded = (Operand<TString>) parsed.denseValues().get(0);
      Heads classify = heads(ct, model.logits(ct, c, decode(ct, encoded, size, vit.channels()), null), k);
      Operand<TInt32> batch = ct.slice(ct.shape(encoded), ct.constant(new int[] {0}), ct.constant(new int[] {1}));
      Operand<TString> names = ct.withName("classes").tile(
          ct.expandDims(ct.constant(StdArrays.ndCopyOf(classNames.toArray(new String[0]))), ct.constant(0)),
          ct.concat(List.of(batch, ct.constant(new int[] {1})), ct.constant(0)));

      Op restore = checkpoint == null ? null : EncoderExporter.restoreOp(tf, ps.all(), "", sourceScope);
      try (Session s = new Session(g)) {
        s.initialize();
        if (restore != null) {
          EncoderExporter.restore(s, restore, checkpoint, "the classifier");
        }
        Signature predict = direct.signature(Signature.builder().key(Signature.DEFAULT_KEY)
            .methodName("tensorflow/serving/predict").input(IMAGES, images)).build();
        Signature byBytes = fromBytes.signature(Signature.builder().key(IMAGE_BYTES)
            .methodName("tensorflow/serving/predict").input(IMAGE_BYTES, bytes)).build();
        Signature cls = Signature.builder().key(CLASSIFY).methodName(CLASSIFY).input(EXAMPLES, examples)
            .output("classes", names).output("scores", classify.probabilities).build();
        SavedModelBundle.exporter(dir.toString()).withTags("serve")
            .withFunctions(SessionFunction.create(predict, s), SessionFunction.create(byBytes, s),
                SessionFunction.create(cls, s))
            .export();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot export to " + dir + ": " + e.getMessage(), e);
    }
    try {
      Files.createDirectories(dir.resolve("assets"));
      Files.writeString(dir.resolve("assets").resolve(CLASS_NAMES_ASSET), String.join("\n", classNames) + "\n",
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    EncoderExporter.writeExtras(dir, extras);
    return dir;
  }

  /** A constant string vector of length 0 (ParseExample's empty key lists; a required feature's default). */
  private static Operand<TString> emptyStrings(Ops tf) {
    try (TString t = TString.tensorOf(org.tensorflow.ndarray.NdArrays.ofObjects(String.class, Shape.of(0)))) {
      return tf.constantOf(t);
    }
  }

  private record Heads(Operand<TFloat32> logits, Operand<TFloat32> probabilities, Operand<TInt32> topK,
      Operand<TFloat32> topKScores) {
    Signature.Builder signature(Signature.Builder b) {
      return b.output(LOGITS, logits).output(PROBABILITIES, probabilities).output(TOP_K, topK)
          .output(TOP_K_SCORES, topKScores);
    }
  }

  private static Heads heads(Ops tf, Operand<TFloat32> logits, int k) {
    Operand<TFloat32> l = tf.withName(LOGITS).identity(logits);
    Operand<TFloat32> p = tf.withName(PROBABILITIES).nn.softmax(l);
    var top = tf.nn.topK(p, tf.constant(k), TInt32.class);
    return new Heads(l, p, tf.withName(TOP_K).identity(top.indices()),
        tf.withName(TOP_K_SCORES).identity(top.values()));
  }

  /**
   * Decodes a batch of image files [B] to floats [B, size, size, channels] in [0, 1]: one
   * {@code MapDefun} whose function decodes one file (JPEG, PNG, GIF, BMP) and resizes it bilinearly
   * (half-pixel centres; a file of the model's size passes unchanged).
   */
  static Operand<TFloat32> decode(Ops tf, Operand<TString> files, int size, int channels) {
    ConcreteFunction fn = ConcreteFunction.create(f -> {
      Placeholder<TString> one = f.placeholder(TString.class, Placeholder.shape(Shape.scalar()));
      Operand<TUint8> px = f.image.decodeImage(one, TUint8.class, DecodeImage.channels((long) channels),
          DecodeImage.expandAnimations(false));
      Operand<TFloat32> x = f.math.mul(f.dtypes.cast(px, TFloat32.class), f.constant(1f / 255f));
      Operand<TFloat32> r = f.image.resizeBilinear(f.expandDims(x, f.constant(0)), f.constant(new int[] {size, size}),
          ResizeBilinear.halfPixelCenters(true));
      Operand<TFloat32> img = f.reshape(r, f.constant(new int[] {size, size, channels}));
      return Signature.builder().input("file", one).output("image", img).build();
    });
    var m = tf.mapDefun(List.of(files), List.of(), List.of(TFloat32.class), List.of(Shape.of(size, size, channels)),
        fn);
    @SuppressWarnings("unchecked")
    Operand<TFloat32> out = (Operand<TFloat32>) m.output().get(0);
    return out;
  }
}
