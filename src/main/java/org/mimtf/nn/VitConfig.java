package org.mimtf.nn;

import static com.google.common.base.Preconditions.checkArgument;

import org.mimtf.config.proto.ModelConfig;

/**
 * The resolved dimensions and options of one Vision Transformer, read once from a {@link ModelConfig}
 * (the only place the backbone reads the proto).
 */
public record VitConfig(
    int width,
    int depth,
    int numHeads,
    int mlpDim,
    int imageSize,
    int patchSize,
    int channels,
    ModelConfig.AbsPosEmbedding absPos,
    ModelConfig.RelPosBias relPos,
    ModelConfig.QkvBias qkvBias,
    float layerScaleInit,
    float dropPathRate,
    float layerNormEps,
    ModelConfig.Init init,
    float[] inputMean,
    float[] inputStd,
    long initSeed) {

  public VitConfig {
    checkArgument(width % numHeads == 0, "width (%s) must be divisible by num_heads (%s)", width, numHeads);
    checkArgument(imageSize % patchSize == 0, "patch_size (%s) must divide image_size (%s)", patchSize, imageSize);
  }

  /** Reads a resolved model config (see {@code RecipeResolver}). */
  public static VitConfig from(ModelConfig m) {
    float[] mean = null;
    float[] std = null;
    if (!m.getIdentityNormalization()) {
      mean = toArray(m.getInputMeanList());
      std = toArray(m.getInputStdList());
    }
    int mlp = m.getMlpDim() > 0 ? m.getMlpDim() : Math.round(m.getMlpRatio() * m.getWidth());
    return new VitConfig(m.getWidth(), m.getDepth(), m.getNumHeads(), mlp, m.getImageSize(), m.getPatchSize(),
        m.getChannels(), m.getAbsPosEmbedding(), m.getRelPosBias(), m.getQkvBias(), m.getLayerScaleInit(),
        m.getDropPathRate(), m.getLayerNormEps(), m.getInit(), mean, std, m.getInitSeed());
  }

  private static float[] toArray(java.util.List<Float> l) {
    float[] a = new float[l.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = l.get(i);
    }
    return a;
  }

  /** Patches per side. */
  public int grid() {
    return imageSize / patchSize;
  }

  /** Number of patch tokens N. */
  public int numPatches() {
    return grid() * grid();
  }

  public int headDim() {
    return width / numHeads;
  }

  /** Values per patch, C·P². */
  public int patchDim() {
    return channels * patchSize * patchSize;
  }

  /** Drop-path rate of block i (0-based): linspace(0, rate, depth), as timm. */
  public float dropPath(int block, int totalBlocks) {
    return totalBlocks <= 1 ? 0f : dropPathRate * block / (totalBlocks - 1);
  }

  /** Multiply-accumulate FLOPs (x2) of one forward pass over {@code tokens} tokens, per image. */
  public double forwardFlops(int tokens) {
    double perBlock = 2.0 * tokens * (4.0 * width * width + 2.0 * width * mlpDim) + 4.0 * tokens * tokens * width;
    return depth * perBlock + 2.0 * numPatches() * patchDim() * width;
  }
}
