package org.mimtf.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locations of the committed fixtures under {@code test-data/} (tests run from the project root).
 */
public final class TestData {
  private TestData() {}

  public static final Path ROOT = Path.of("test-data").toAbsolutePath();
  public static final Path FASHION_MNIST = ROOT.resolve("fashion-mnist");
  public static final Path TRAIN_IMAGES = FASHION_MNIST.resolve("train-images-idx3-ubyte.gz");
  public static final Path TRAIN_LABELS = FASHION_MNIST.resolve("train-labels-idx1-ubyte.gz");
  public static final Path TEST_IMAGES = FASHION_MNIST.resolve("t10k-images-idx3-ubyte.gz");
  public static final Path TEST_LABELS = FASHION_MNIST.resolve("t10k-labels-idx1-ubyte.gz");
  public static final Path IMAGES = ROOT.resolve("images");
  public static final Path TFRECORD = ROOT.resolve("tfrecord/fmnist-small.tfrecord");

  public static Path image(String relative) {
    return IMAGES.resolve(relative);
  }

  public static byte[] bytes(Path p) {
    try {
      return Files.readAllBytes(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
