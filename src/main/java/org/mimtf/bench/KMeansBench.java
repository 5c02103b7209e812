package org.mimtf.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.mimtf.data.source.IdxSource;
import org.mimtf.tokenizers.KMeans;
import org.mimtf.util.Json;

/**
 * {@code bench kmeans}: k-means wall time, final objective and assignment throughput on the two
 * reference workloads — K=512 over the 490,000 4×4 patches (16-d, [0, 1]) of the first 10,000
 * Fashion-MNIST training images, and K=1024 over 200,000 random N(0, 1) 768-d vectors — both 20
 * iterations, random initialisation, no sub-sampling (as faiss 1.7.3 was run).
 */
public final class KMeansBench {
  private KMeansBench() {}

  /** 4×4 patches of the first {@code images} images, (c, py, px) order. */
  public static float[] fashionPatches(Path imagesFile, int images) {
    try (IdxSource src = IdxSource.open(imagesFile, null, 0)) {
      int m = Math.min(images, src.size());
      float[] out = new float[m * 49 * 16];
      int row = 0;
      for (int i = 0; i < m; i++) {
        float[] d = src.read(i).pixels().data();
        for (int gy = 0; gy < 7; gy++) {
          for (int gx = 0; gx < 7; gx++) {
            int o = row++ * 16;
            for (int py = 0; py < 4; py++) {
              for (int px = 0; px < 4; px++) {
                out[o++] = d[(gy * 4 + py) * 28 + gx * 4 + px];
              }
            }
          }
        }
      }
      return out;
    }
  }

  public static float[] gaussian(int n, int d, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[n * d];
    for (int i = 0; i < a.length; i++) {
      // Box-Muller
      double u = 1 - r.nextDouble();
      double v = r.nextDouble();
      a[i] = (float) (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
    }
    return a;
  }

  public static Json.Obj run(String name, float[] points, int n, int d, int k, int iterations, PrintStream out) {
    long t0 = System.nanoTime();
    int chunk = Math.max(1024, (int) Math.min(n, 32_000_000L / k));
    try (KMeans km = new KMeans(points, n, d, k, chunk, 0)) {
      double load = (System.nanoTime() - t0) / 1e9;
      long t1 = System.nanoTime();
      KMeans.Result r = km.fit(new KMeans.Options(k, iterations, false, 1, chunk, 0),
          it -> out.printf("  %s iteration %2d: objective %.4f (%.2f s)%n", name, it.index() + 1, it.objective(),
              it.seconds()));
      double fit = (System.nanoTime() - t1) / 1e9;
      long t2 = System.nanoTime();
      km.assign(r.centroids(), k);
      double assign = (System.nanoTime() - t2) / 1e9;
      double total = load + fit;
      out.printf("%s: n=%d d=%d K=%d, %d iterations in %.2f s (+%.2f s to load), objective %.4f per vector, "
          + "assignment %.0f vectors/s%n", name, n, d, k, iterations, fit, load, r.finalObjective(), n / assign);
      return Json.obj().put("workload", name).put("n", n).put("d", d).put("k", k).put("iterations", iterations)
          .put("seconds", total).put("fit_seconds", fit).put("objective", r.finalObjective())
          .put("assign_vectors_per_s", n / assign);
    }
  }
}
