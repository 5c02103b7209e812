package org.mimtf.tokenizers;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.mimtf.config.proto.CcvitConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.Image;
import org.mimtf.data.augment.CenterCrop;
import org.mimtf.data.augment.Resize;
import org.mimtf.data.decode.ImageDecoder;
import org.mimtf.data.decode.ImageDecoders;
import org.mimtf.data.pipeline.Stages;
import org.mimtf.data.source.Record;
import org.mimtf.data.source.Source;
import org.mimtf.data.source.Sources;
import org.mimtf.nn.VitConfig;
import org.mimtf.util.ImageGrid;
import org.mimtf.util.Json;
import org.mimtf.util.Npy;

/**
 * {@code mimtf tokenizer build}: CCViT's tokenizer — k-means over raw [0, 1] pixel patches of a sample
 * of the training set (ccvit.md §2): a fixed number of images per class, each resized and centre
 * cropped (no augmentation, no normalisation), patchified in (c, py, px) order.
 *
 * <p>Writes to the tokenizer folder: {@code centroids.npy} [K, C·P·P], {@code centroids.png} (the
 * codebook as an image grid), {@code saved_model/} (images → token ids and centroid patches) and
 * {@code tokenizer.json} (objective per iteration, cluster usage).
 */
public final class CentroidTokenizerBuilder {
  /** What was built. */
  public record Built(Path dir, int k, int points, double objective, double seconds, double usage) {}

  private CentroidTokenizerBuilder() {}

  /** The tokenizer folder of a recipe: {@code ccvit.tokenizer.dir}, else {@code <run_dir>/tokenizer}. */
  public static Path dir(Recipe r) {
    String d = r.getCcvit().getTokenizer().getDir();
    return d.isEmpty() ? Path.of(r.getTraining().getRunDir()).resolve("tokenizer") : Path.of(d);
  }

  public static Built build(Recipe r, PrintStream out) {
    CcvitConfig.Tokenizer t = r.getCcvit().getTokenizer();
    VitConfig vit = VitConfig.from(r.getModel());
    Path dir = dir(r);
    long t0 = System.nanoTime();
    float[] points;
    int numImages;
    try (Source source = Sources.open(r.getData().getSource(), null, "data.source");
        ImageDecoder decoder = ImageDecoders.create(r.getData().getDecoder(), 1)) {
      int[] chosen = sample(source, t.getImagesPerClass(), t.getMaxImages(), t.getSeed());
      numImages = chosen.length;
      out.printf("k-means tokenizer: %d images (%s), %d patches of %d values each%n", numImages,
          t.getImagesPerClass() > 0 ? t.getImagesPerClass() + " per class" : "max " + t.getMaxImages(),
          numImages * vit.numPatches(), vit.patchDim());
      points = patchesOf(source, decoder, chosen, vit);
    } catch (Exception e) {
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(e);
    }
    int n = points.length / vit.patchDim();
    int k = t.getNumCentroids();
    if (n < k) {
      throw new org.mimtf.util.UserException("ccvit.tokenizer.num_centroids (" + k + ") exceeds the " + n
          + " patches sampled; sample more images (images_per_class / max_images) or lower num_centroids");
    }
    int chunk = t.getBatchPoints() > 0 ? t.getBatchPoints() : Math.max(1024, (int) Math.min(n, 64_000_000L / k));
    KMeans.Result res;
    try (KMeans km = new KMeans(points, n, vit.patchDim(), k, chunk, 0)) {
      res = km.fit(new KMeans.Options(k, t.getIterations(), t.getInit() == CcvitConfig.Tokenizer.InitKind.KMEANS_PLUS_PLUS,
          t.getSeed(), chunk, 0), it -> out.printf("  iteration %2d: objective %.6f per point%s (%.2f s)%n",
          it.index() + 1, it.objective(), it.emptyRepaired() > 0 ? ", " + it.emptyRepaired() + " empty repaired" : "",
          it.seconds()));
      int[] ids = km.assign(res.centroids(), k);
      boolean[] used = new boolean[k];
      for (int id : ids) {
        used[id] = true;
      }
      int u = 0;
      for (boolean b : used) {
        u += b ? 1 : 0;
      }
      double usage = u / (double) k;
      write(dir, res, vit, usage, numImages);
      double secs = (System.nanoTime() - t0) / 1e9;
      return new Built(dir, k, n, res.finalObjective(), secs, usage);
    }
  }

  /** Indices of the sample: {@code perClass} per class (seeded, without replacement), or the first max. */
  static int[] sample(Source source, int perClass, int maxImages, long seed) {
    int size = source.size();
    if (perClass <= 0) {
      int m = maxImages > 0 ? Math.min(maxImages, size) : size;
      int[] idx = new int[m];
      for (int i = 0; i < m; i++) {
        idx[i] = i;
      }
      return idx;
    }
    Map<Integer, List<Integer>> byClass = new HashMap<>();
    for (int i = 0; i < size; i++) {
      byClass.computeIfAbsent(source.label(i), c -> new ArrayList<>()).add(i);
    }
    List<Integer> out = new ArrayList<>();
    List<Integer> classes = new ArrayList<>(byClass.keySet());
    java.util.Collections.sort(classes);
    for (int c : classes) {
      List<Integer> members = byClass.get(c);
      SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + c);
      for (int i = members.size() - 1; i > 0; i--) {
        int j = rng.nextInt(i + 1);
        java.util.Collections.swap(members, i, j);
      }
      out.addAll(members.subList(0, Math.min(perClass, members.size())));
    }
    if (maxImages > 0 && out.size() > maxImages) {
      out = out.subList(0, maxImages);
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  static float[] patchesOf(Source source, ImageDecoder decoder, int[] chosen, VitConfig vit) {
    int size = vit.imageSize();
    int p = vit.patchSize();
    int c = vit.channels();
    int g = vit.grid();
    int pd = vit.patchDim();
    float[] out = new float[chosen.length * g * g * pd];
    Resize resize = new Resize(Math.round(size / 0.875f), org.mimtf.config.proto.Interpolation.BICUBIC);
    CenterCrop crop = new CenterCrop(size);
    SplittableRandom unused = new SplittableRandom(0);
    int row = 0;
    for (int idx : chosen) {
      Record rec = source.read(idx);
      Image img = rec.pixels() != null ? rec.pixels() : decoder.decode(rec.encoded(), c, rec.origin());
      img = Stages.toChannels(img, c);
      if (img.height() != size || img.width() != size) {
        img = crop.apply(resize.apply(img, unused), unused);
      }
      float[] d = img.data();
      for (int gy = 0; gy < g; gy++) {
        for (int gx = 0; gx < g; gx++) {
          int o = row * pd;
          for (int ch = 0; ch < c; ch++) {
            for (int py = 0; py < p; py++) {
              for (int px = 0; px < p; px++) {
                out[o++] = d[((gy * p + py) * size + gx * p + px) * c + ch];
              }
            }
          }
          row++;
        }
      }
    }
    return out;
  }

  private static void write(Path dir, KMeans.Result res, VitConfig vit, double usage, int images) {
    try {
      Files.createDirectories(dir);
      Npy.write(dir.resolve("centroids.npy"), res.centroids(), res.k(), res.d());
      centroidGrid(res.centroids(), res.k(), vit).write(dir.resolve("centroids.png"));
      Path sm = dir.resolve("saved_model");
      if (Files.exists(sm)) {
        org.mimtf.util.Files2.deleteRecursively(sm);
      }
      CentroidTokenizerModel.export(res.centroids(), res.k(), vit, sm);
      List<Object> its = new ArrayList<>();
      for (KMeans.Iteration it : res.iterations()) {
        its.add(Json.obj().put("iteration", it.index() + 1).put("objective", it.objective())
            .put("empty_repaired", it.emptyRepaired()).put("seconds", it.seconds()).asMap());
      }
      Files.writeString(dir.resolve("tokenizer.json"), Json.obj().put("kind", "kmeans").put("num_centroids", res.k())
          .put("patch_dim", res.d()).put("images", images).put("usage", usage).put("iterations", its) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the tokenizer to " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The centroids as P×P images on a grid, pixel values as stored ([0, 1]). */
  static ImageGrid centroidGrid(float[] cent, int k, VitConfig vit) {
    int p = vit.patchSize();
    int c = vit.channels();
    int cols = (int) Math.ceil(Math.sqrt(k));
    int rows = (k + cols - 1) / cols;
    ImageGrid grid = new ImageGrid(rows, cols, p, p, Math.max(1, 32 / p));
    float[] hwc = new float[p * p * c];
    for (int j = 0; j < k; j++) {
      for (int ch = 0; ch < c; ch++) {
        for (int py = 0; py < p; py++) {
          for (int px = 0; px < p; px++) {
            float v = cent[j * c * p * p + (ch * p + py) * p + px];
            hwc[(py * p + px) * c + ch] = v;
          }
        }
      }
      grid.put(j / cols, j % cols, hwc, 0, c);
    }
    return grid;
  }
}
