package org.mimtf.util;

import static com.google.common.base.Preconditions.checkArgument;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Lays out images as a PNG grid (data previews, reconstructions, k-means centroids), so a person can
 * look at what the model sees. Cells are scaled up by an integer factor with nearest-neighbour
 * sampling so small images (28×28) stay crisp.
 */
public final class ImageGrid {
  private final int rows;
  private final int cols;
  private final int cellH;
  private final int cellW;
  private final int scale;
  private final int pad;
  private final BufferedImage canvas;

  /**
   * @param rows grid rows
   * @param cols grid columns
   * @param cellH image height
   * @param cellW image width
   * @param scale integer up-scaling of each cell
   */
  public ImageGrid(int rows, int cols, int cellH, int cellW, int scale) {
    checkArgument(rows > 0 && cols > 0 && scale > 0, "grid %sx%s scale %s must be positive", rows, cols, scale);
    this.rows = rows;
    this.cols = cols;
    this.cellH = cellH;
    this.cellW = cellW;
    this.scale = scale;
    this.pad = 2;
    canvas = new BufferedImage(cols * (cellW * scale + pad) + pad, rows * (cellH * scale + pad) + pad,
        BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < canvas.getHeight(); y++) {
      for (int x = 0; x < canvas.getWidth(); x++) {
        canvas.setRGB(x, y, 0x303030);
      }
    }
  }

  /**
   * Draws an HWC image (1 or 3 channels, values in [0, 1] after {@code v·mul + add}, clamped) at
   * (row, col).
   */
  public void put(int row, int col, float[] hwc, int offset, int channels, float mul, float add) {
    for (int y = 0; y < cellH; y++) {
      for (int x = 0; x < cellW; x++) {
        int i = offset + (y * cellW + x) * channels;
        int r = byteOf(hwc[i] * mul + add);
        int g = channels == 3 ? byteOf(hwc[i + 1] * mul + add) : r;
        int b = channels == 3 ? byteOf(hwc[i + 2] * mul + add) : r;
        fill(row, col, y, x, (r << 16) | (g << 8) | b);
      }
    }
  }

  public void put(int row, int col, float[] hwc, int offset, int channels) {
    put(row, col, hwc, offset, channels, 1f, 0f);
  }

  /** Tints the patch cells where {@code mask} (row-major over a grid of {@code grid}²) is true. */
  public void overlay(int row, int col, boolean[] mask, int maskOffset, int grid, int rgb, float alpha) {
    int ph = cellH / grid;
    int pw = cellW / grid;
    for (int gy = 0; gy < grid; gy++) {
      for (int gx = 0; gx < grid; gx++) {
        if (!mask[maskOffset + gy * grid + gx]) {
          continue;
        }
        for (int y = gy * ph; y < (gy + 1) * ph; y++) {
          for (int x = gx * pw; x < (gx + 1) * pw; x++) {
            int px = col * (cellW * scale + pad) + pad + x * scale;
            int py = row * (cellH * scale + pad) + pad + y * scale;
            int old = canvas.getRGB(px, py);
            int blended = blend(old, rgb, alpha);
            for (int dy = 0; dy < scale; dy++) {
              for (int dx = 0; dx < scale; dx++) {
                canvas.setRGB(px + dx, py + dy, blended);
              }
            }
          }
        }
      }
    }
  }

  private static int blend(int a, int b, float alpha) {
    int r = Math.round(((a >> 16) & 0xff) * (1 - alpha) + ((b >> 16) & 0xff) * alpha);
    int g = Math.round(((a >> 8) & 0xff) * (1 - alpha) + ((b >> 8) & 0xff) * alpha);
    int bl = Math.round((a & 0xff) * (1 - alpha) + (b & 0xff) * alpha);
    return (r << 16) | (g << 8) | bl;
  }

  private void fill(int row, int col, int y, int x, int rgb) {
    int px = col * (cellW * scale + pad) + pad + x * scale;
    int py = row * (cellH * scale + pad) + pad + y * scale;
    for (int dy = 0; dy < scale; dy++) {
      for (int dx = 0; dx < scale; dx++) {
        canvas.setRGB(px + dx, py + dy, rgb);
      }
    }
  }

  private static int byteOf(float v) {
    return Math.max(0, Math.min(255, Math.round(v * 255f)));
  }

  public int rows() {
    return rows;
  }

  public int cols() {
    return cols;
  }

  public BufferedImage image() {
    return canvas;
  }

  public byte[] png() {
    try {
      ByteArrayOutputStream bos = new ByteArrayOutputStream();
      ImageIO.write(canvas, "png", bos);
      return bos.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public void write(Path file) {
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      Files.write(file, png());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
