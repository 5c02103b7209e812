package org.mimtf.data.decode;

import static com.google.common.base.Preconditions.checkArgument;

import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.tensorflow.Graph;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.exceptions.TFUnimplementedException;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.image.DecodeBmp;
import org.tensorflow.op.image.DecodeImage;
import org.tensorflow.op.image.DecodeJpeg;
import org.tensorflow.op.image.DecodePng;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;

/**
 * Decodes images with TensorFlow's own C++ kernels (libjpeg-turbo, libpng, giflib), the decoders
 * that {@code tf.io.decode_image} uses in Python, so pixels match a Python TF input pipeline.
 *
 * <p>One small graph holds a string placeholder and one decode op per (format, channels) case; a
 * call sniffs the format and fetches the matching output, so only that kernel runs. Picking the
 * kernel ourselves (rather than one generic {@code DecodeImage}) lets us set the JPEG option that
 * matters, the {@code INTEGER_ACCURATE} IDCT (libjpeg's default, used by PIL and javax.imageio),
 * instead of TF's default fast IDCT: on the 256x256 benchmark JPEGs the fast one differs from
 * javax.imageio by up to 5/255 (mean 1/255), the accurate one not at all (measured). It also lets
 * us route around cases a kernel rejects:
 *
 * <ul>
 *   <li>JPEG, 3 channels: libjpeg converts gray and YCbCr, and TF's kernel converts CMYK/YCCK
 *       (Adobe inverted or not) itself.
 *   <li>JPEG, 1 channel: grayscale files are decoded as they are; colour files are decoded to RGB
 *       and converted with {@link Pixels}, like PIL's {@code convert('L')} and the Java decoder.
 *       libjpeg's own gray output (the Y plane) differs from that by up to 6/255 where the RGB
 *       values clip (measured), and libjpeg cannot turn CMYK into gray at all.
 *   <li>PNG: 3 channels are libpng's own (palette expanded, gray replicated, alpha stripped, 16-bit
 *       reduced); for 1 channel the native channels are decoded and converted with the same luma as
 *       the Java decoder, so both decoders agree exactly (libpng's own rgb-to-gray need not).
 *   <li>GIF: first frame only ({@code expand_animations=false}), as RGB (the GIF kernel supports
 *       nothing else); BMP: native channels. Both are then converted with {@link Pixels}.
 * </ul>
 *
 * <p>Thread safety: {@link Session} runs are thread-safe, so pipeline workers share one decoder.
 *
 * <p>Threads: the session gets its own inter-op pool ({@code use_per_session_threads}), sized to
 * the number of concurrent callers, and leaves {@code intra_op_parallelism_threads} at 0. Both
 * choices are about other sessions in the process, not about decoding (the decode kernels are
 * single-threaded and do not shard work over the intra-op pool). TensorFlow keeps one process-wide
 * intra-op pool and one process-wide inter-op pool, each created with the settings of the first
 * session that needs it; later sessions' settings are ignored (verified with TF Java 1.0 by
 * counting native threads: a first session with intra 1 / inter 1 left a later intra 8 / inter 8
 * session with one thread each). Asking for one intra-op thread here would therefore make the
 * training step single-threaded whenever the decoder happens to be created first; 0 gives
 * TensorFlow's default (one per core), the same as a trainer with default settings. A trainer that
 * sets its own thread counts must create its session before any decoder.
 */
public final class TfImageDecoder implements ImageDecoder {
  private final Graph graph;
  private final Session session;
  private final Placeholder<TString> input;
  private final Output<TUint8> jpeg1;
  private final Output<TUint8> jpeg3;
  private final Output<TUint8> pngNative;
  private final Output<TUint8> png3;
  private final Output<TUint8> gif3;
  private final Output<TUint8> bmpNative;
  private volatile boolean closed;

  /** A decoder whose session has one inter-op thread (enough for one caller at a time). */
  public TfImageDecoder() {
    this(1);
  }

  /**
   * A decoder for up to {@code interOpThreads} concurrent callers.
   *
   * @param interOpThreads size of the session's own inter-op pool, typically the number of pipeline
   *     workers; 0 lets TensorFlow choose (one per core)
   */
  public TfImageDecoder(int interOpThreads) {
    checkArgument(interOpThreads >= 0, "interOpThreads (%s) must be >= 0", interOpThreads);
    graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      input = tf.withName("encoded").placeholder(TString.class, Placeholder.shape(Shape.scalar()));
      jpeg1 = jpeg(tf, "jpeg1", 1);
      jpeg3 = jpeg(tf, "jpeg3", 3);
      pngNative =
          tf.withName("png_native")
              .image
              .decodePng(input, TUint8.class, DecodePng.channels(0L))
              .image();
      png3 =
          tf.withName("png3").image.decodePng(input, TUint8.class, DecodePng.channels(3L)).image();
      gif3 =
          tf.withName("gif3")
              .image
              .decodeImage(
                  input,
                  TUint8.class,
                  DecodeImage.channels(3L),
                  DecodeImage.expandAnimations(false))
              .image();
      bmpNative = tf.withName("bmp_native").image.decodeBmp(input, DecodeBmp.channels(0L)).image();
      ConfigProto config =
          ConfigProto.newBuilder()
              .setUsePerSessionThreads(true)
              .setInterOpParallelismThreads(interOpThreads)
              .build();
      session = new Session(graph, config);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  private Output<TUint8> jpeg(Ops tf, String name, int channels) {
    return tf.withName(name)
        .image
        .decodeJpeg(
            input,
            DecodeJpeg.channels((long) channels),
            DecodeJpeg.dctMethod("INTEGER_ACCURATE"),
            DecodeJpeg.fancyUpscaling(true))
        .image();
  }

  @Override
  public Image decode(byte[] bytes, int channels, String origin) {
    checkArgument(channels == 1 || channels == 3, "channels (%s) must be 1 or 3", channels);
    if (closed) {
      throw new IllegalStateException("TfImageDecoder is closed");
    }
    ImageFormat format = ImageFormat.detectOrThrow(bytes, origin);
    Output<TUint8> out =
        switch (format) {
          case JPEG -> channels == 1 && JpegInfo.components(bytes) == 1 ? jpeg1 : jpeg3;
          case PNG -> channels == 3 ? png3 : pngNative;
          case GIF -> gif3;
          case BMP -> bmpNative;
        };
    int h;
    int w;
    int c;
    byte[] pixels;
    try (TString t = TString.tensorOfBytes(NdArrays.scalarOfObject(bytes));
        Result r = session.runner().feed(input, t).fetch(out).run()) {
      TUint8 img = (TUint8) r.get(0);
      Shape s = img.shape();
      if (s.numDimensions() != 3) {
        throw new BadInputException(
            origin,
            "not a decodable image (" + format + " decoded to shape " + s + ", expected HWC)");
      }
      h = (int) s.get(0);
      w = (int) s.get(1);
      c = (int) s.get(2);
      pixels = new byte[h * w * c];
      img.asRawTensor().data().read(pixels);
    } catch (TensorFlowException | TFInvalidArgumentException | TFUnimplementedException e) {
      // Not one hierarchy: in TF Java 1.0 INVALID_ARGUMENT (what a corrupt image gives) extends
      // IllegalArgumentException and UNIMPLEMENTED extends UnsupportedOperationException.
      throw new BadInputException(
          origin, "not a decodable image (" + format + ": " + summary(e) + ")", e);
    }
    if (h == 0 || w == 0) {
      throw new BadInputException(origin, "not a decodable image (" + format + " of size 0)");
    }
    return Image.fromBytes(h, w, channels, Pixels.convert(pixels, c, channels));
  }

  /**
   * The first line of a TensorFlow error, without the {@code [[{{node ...}}]]} suffix that names
   * our graph's internals and means nothing to someone fixing their data.
   */
  static String summary(RuntimeException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    if (nl >= 0) {
      m = m.substring(0, nl);
    }
    int node = m.indexOf("[[{{node");
    if (node >= 0) {
      m = m.substring(0, node);
    }
    m = m.strip();
    return m.length() > 300 ? m.substring(0, 300) + "..." : m;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      session.close();
      graph.close();
    }
  }
}
