package org.mimtf.data.augment;

/**
 * An integer crop rectangle in pixels: rows {@code [top, top + height)}, columns {@code [left, left +
 * width)}.
 */
public record CropBox(int top, int left, int height, int width) {
  /** width / height, the aspect ratio torchvision's RandomResizedCrop samples. */
  public double ratio() {
    return (double) width / height;
  }

  public long area() {
    return (long) width * height;
  }
}
