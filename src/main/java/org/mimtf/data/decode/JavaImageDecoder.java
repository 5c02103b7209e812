package org.mimtf.data.decode;

import static com.google.common.base.Preconditions.checkArgument;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.spi.ImageReaderSpi;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.w3c.dom.Node;

/**
 * Decodes images with {@code javax.imageio}: no native code, no TensorFlow session, so it works
 * where the TF decoder cannot be used and serves as an independent check of it.
 *
 * <p>Pixels are taken from the raster as stored, never through {@link BufferedImage#getRGB}: that
 * path colour-converts gray images from a linear gray space to sRGB and brightens them, which no
 * other decoder does. Conversions follow the {@link ImageDecoder} contract and the TF decoder:
 * palette expanded, alpha dropped, 16-bit samples reduced to their high byte (libpng's {@code
 * png_set_strip_16}), 1/2/4-bit gray scaled to 8 bits, RGB to gray with {@link Pixels}'s luma. GIFs
 * give their first frame on the logical screen, as TF's GIF kernel does.
 *
 * <p>Limits: javax.imageio cannot read CMYK/YCCK JPEGs (use the TensorFlow decoder for those; the
 * error says so), and its JPEG reader only warns about truncated data; such warnings are treated as
 * errors here, because a half-grey image is worse than a skipped one.
 *
 * <p>Thread safety: a fresh {@link ImageReader} is made for each call (readers are stateful), from
 * providers looked up once.
 */
public final class JavaImageDecoder implements ImageDecoder {
  private final Map<ImageFormat, ImageReaderSpi> providers = new EnumMap<>(ImageFormat.class);

  public JavaImageDecoder() {
    for (ImageFormat f : ImageFormat.values()) {
      Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(f.name().toLowerCase());
      if (readers.hasNext()) {
        ImageReader r = readers.next();
        providers.put(f, r.getOriginatingProvider());
        r.dispose();
      }
    }
  }

  @Override
  public Image decode(byte[] bytes, int channels, String origin) {
    checkArgument(channels == 1 || channels == 3, "channels (%s) must be 1 or 3", channels);
    ImageFormat format = ImageFormat.detectOrThrow(bytes, origin);
    if (format == ImageFormat.JPEG && JpegInfo.components(bytes) == 4) {
      throw new BadInputException(
          origin,
          "not a decodable image by the Java decoder: CMYK/YCCK JPEG is not supported by"
              + " javax.imageio (set data.decoder: TENSORFLOW to read it)");
    }
    ImageReaderSpi spi = providers.get(format);
    if (spi == null) {
      throw new BadInputException(
          origin, "not a decodable image (no javax.imageio reader for " + format + ")");
    }
    Decoded d;
    try {
      d = read(spi, bytes, format);
    } catch (IOException | RuntimeException e) {
      // ImageIO reports corrupt data as IIOException, EOFException, or as unchecked exceptions from
      // deep inside a codec (ArrayIndexOutOfBounds, IllegalArgument, NegativeArraySize).
      throw new BadInputException(
          origin, "not a decodable image (" + format + ": " + describe(e) + ")", e);
    }
    if (d.warning != null) {
      throw new BadInputException(
          origin, "not a decodable image (" + format + ": " + d.warning + ")");
    }
    if (d.channels < 0) {
      throw new BadInputException(
          origin,
          "not a decodable image ("
              + format
              + " with an unsupported colour model: "
              + d.model
              + ")");
    }
    return Image.fromBytes(
        d.height, d.width, channels, Pixels.convert(d.pixels, d.channels, channels));
  }

  /** Decoded 8-bit pixels with their native channel count (-1: unsupported colour model). */
  private record Decoded(
      int height, int width, int channels, byte[] pixels, String warning, String model) {}

  private static Decoded read(ImageReaderSpi spi, byte[] bytes, ImageFormat format)
      throws IOException {
    ImageReader reader = spi.createReaderInstance();
    List<String> warnings = new ArrayList<>();
    reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      reader.setInput(in, true, format != ImageFormat.GIF);
      BufferedImage img = reader.read(0);
      Decoded d = pixels(img);
      if (format == ImageFormat.GIF && d.channels > 0) {
        d = onLogicalScreen(reader, d);
      }
      String warning = warnings.isEmpty() ? null : warnings.get(0);
      return new Decoded(d.height, d.width, d.channels, d.pixels, warning, d.model);
    } finally {
      reader.dispose();
    }
  }

  /** Raster samples as 8-bit interleaved bytes, with their channel count (colour + alpha). */
  private static Decoded pixels(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    ColorModel cm = img.getColorModel();
    Raster r = img.getRaster();
    if (cm instanceof IndexColorModel icm) {
      int[] idx = r.getSamples(r.getMinX(), r.getMinY(), w, h, 0, (int[]) null);
      byte[] out = new byte[w * h * 3];
      for (int i = 0, d = 0; i < idx.length; i++, d += 3) {
        out[d] = (byte) icm.getRed(idx[i]);
        out[d + 1] = (byte) icm.getGreen(idx[i]);
        out[d + 2] = (byte) icm.getBlue(idx[i]);
      }
      return new Decoded(h, w, 3, out, null, cm.toString());
    }
    int space = cm.getColorSpace().getType();
    if (cm instanceof ComponentColorModel
        && (space == ColorSpace.TYPE_GRAY || space == ColorSpace.TYPE_RGB)) {
      int bands = r.getNumBands();
      int bits = cm.getComponentSize(0);
      byte[] fast = interleavedBytes(r, w, h, bits);
      if (fast != null) {
        return new Decoded(h, w, bands, fast, null, cm.toString());
      }
      int[] s = r.getPixels(r.getMinX(), r.getMinY(), w, h, (int[]) null);
      byte[] out = new byte[s.length];
      if (bits == 16) {
        for (int i = 0; i < s.length; i++) {
          out[i] = (byte) (s[i] >>> 8);
        }
      } else {
        int max = (1 << bits) - 1;
        for (int i = 0; i < s.length; i++) {
          out[i] = (byte) ((s[i] * 255 + max / 2) / max);
        }
      }
      return new Decoded(h, w, bands, out, null, cm.toString());
    }
    if (space == ColorSpace.TYPE_RGB && cm.getNumColorComponents() == 3) {
      // Packed RGB (DirectColorModel, e.g. 16/32-bit BMP): getRGB is exact for sRGB models.
      int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
      byte[] out = new byte[w * h * 3];
      for (int i = 0, d = 0; i < argb.length; i++, d += 3) {
        out[d] = (byte) (argb[i] >> 16);
        out[d + 1] = (byte) (argb[i] >> 8);
        out[d + 2] = (byte) argb[i];
      }
      return new Decoded(h, w, 3, out, null, cm.toString());
    }
    return new Decoded(h, w, -1, null, null, cm.toString());
  }

  /**
   * Fast path for 8-bit pixel-interleaved rasters (JPEG gray/BGR, 8-bit PNGs): reorders straight
   * from the backing array instead of going through {@code int[]} samples. Null if the raster is
   * not one.
   */
  private static byte[] interleavedBytes(Raster r, int w, int h, int bits) {
    if (bits != 8
        || !(r.getSampleModel() instanceof PixelInterleavedSampleModel sm)
        || !(r.getDataBuffer() instanceof DataBufferByte db)
        || db.getNumBanks() != 1
        || r.getSampleModelTranslateX() != 0
        || r.getSampleModelTranslateY() != 0) {
      return null;
    }
    int bands = r.getNumBands();
    int[] offsets = sm.getBandOffsets();
    int pixelStride = sm.getPixelStride();
    int scanline = sm.getScanlineStride();
    byte[] src = db.getData();
    int base = db.getOffset();
    byte[] out = new byte[w * h * bands];
    int d = 0;
    for (int y = 0; y < h; y++) {
      int row = base + y * scanline;
      for (int x = 0; x < w; x++) {
        int p = row + x * pixelStride;
        for (int b = 0; b < bands; b++) {
          out[d++] = src[p + offsets[b]];
        }
      }
    }
    return out;
  }

  /**
   * Places a GIF's first frame on its logical screen (zeros elsewhere), as TF's GIF kernel returns
   * screen-sized images. Almost every GIF's first frame covers the whole screen; then this is a
   * no-op.
   */
  private static Decoded onLogicalScreen(ImageReader reader, Decoded frame) throws IOException {
    IIOMetadata stream = reader.getStreamMetadata();
    IIOMetadata image = reader.getImageMetadata(0);
    if (stream == null || image == null) {
      return frame;
    }
    Node screen =
        child(stream.getAsTree("javax_imageio_gif_stream_1.0"), "LogicalScreenDescriptor");
    Node desc = child(image.getAsTree("javax_imageio_gif_image_1.0"), "ImageDescriptor");
    if (screen == null || desc == null) {
      return frame;
    }
    int sw = attr(screen, "logicalScreenWidth");
    int sh = attr(screen, "logicalScreenHeight");
    int left = attr(desc, "imageLeftPosition");
    int top = attr(desc, "imageTopPosition");
    if ((sw == frame.width && sh == frame.height) || sw <= 0 || sh <= 0) {
      return frame;
    }
    int c = frame.channels;
    byte[] out = new byte[sw * sh * c];
    for (int y = 0; y < frame.height && y + top < sh; y++) {
      int n = Math.min(frame.width, sw - left);
      if (n > 0) {
        System.arraycopy(
            frame.pixels, y * frame.width * c, out, ((y + top) * sw + left) * c, n * c);
      }
    }
    return new Decoded(sh, sw, c, out, null, frame.model);
  }

  private static Node child(Node root, String name) {
    for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n.getNodeName().equals(name)) {
        return n;
      }
    }
    return null;
  }

  private static int attr(Node n, String name) {
    String v = ((IIOMetadataNode) n).getAttribute(name);
    return v == null || v.isEmpty() ? -1 : Integer.parseInt(v);
  }

  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (sb.length() > 0) {
        sb.append(": ");
      }
      sb.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
      if (t.getCause() == t) {
        break;
      }
    }
    return sb.toString();
  }

  @Override
  public void close() {}
}
