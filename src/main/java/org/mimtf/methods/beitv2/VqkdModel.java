package org.mimtf.methods.beitv2;

import org.mimtf.config.proto.Beitv2Config;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.InitScheme;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.tokenizers.NormEmaQuantizer;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * The VQ-KD tokenizer network of BEiT v2 (beitv2.md §2.1): ViT encoder → Linear-Tanh-Linear to the
 * code space → L2-normalise → nearest code of a normalised EMA codebook → (straight-through) →
 * decoder ViT with patch size 1 over the code map → Linear-Tanh-Linear to the teacher's feature width.
 * Variables live under {@code tokenizer/}, so the same names serve training, export and stage 2.
 */
public final class VqkdModel {
  final VitConfig encoderCfg;
  final VitConfig decoderCfg;
  final Beitv2Config.Vqkd cfg;
  VisionTransformer encoder;
  Dense encode1;
  Dense encode2;
  NormEmaQuantizer quantizer;
  VisionTransformer decoder;
  Dense decode1;
  Dense decode2;
  final int targetDim;

  /** Encoder outputs down to the code ids. */
  record Encoded(Operand<TFloat32> z, NormEmaQuantizer.Quantized q, Operand<TInt32> ids) {}

  VqkdModel(Beitv2Config.Vqkd cfg, int targetDim) {
    this.cfg = cfg;
    this.targetDim = targetDim;
    this.encoderCfg = VitConfig.from(cfg.getEncoder());
    int g = encoderCfg.grid();
    int w = cfg.getDecoder().getWidth() > 0 ? cfg.getDecoder().getWidth() : encoderCfg.width();
    int h = cfg.getDecoder().getNumHeads() > 0 ? cfg.getDecoder().getNumHeads() : encoderCfg.numHeads();
    // The decoder is a ViT over the g×g code map with patch size 1 and codebook_dim input channels.
    this.decoderCfg = new VitConfig(w, cfg.getDecoder().getDepth(), h, Math.round(cfg.getDecoder().getMlpRatio() * w),
        g, 1, cfg.getCodebookDim(), ModelConfig.AbsPosEmbedding.LEARNED, ModelConfig.RelPosBias.REL_NONE,
        encoderCfg.qkvBias(), 0f, 0f, encoderCfg.layerNormEps(), encoderCfg.init(), null, null,
        encoderCfg.initSeed() + 1);
  }

  void create(Ops tf, ParamStore ps) {
    Ops t = tf.withSubScope("tokenizer");
    encoder = VisionTransformer.create(ps, t.withSubScope("encoder"), encoderCfg, false);
    int d = encoderCfg.width();
    int cd = cfg.getCodebookDim();
    InitScheme init = new InitScheme(ModelConfig.Init.TIMM, encoderCfg.initSeed());
    Ops enc = t.withSubScope("encode_task");
    encode1 = Dense.create(ps, enc.withSubScope("0"), d, d, true, init.kernel(d, d, 1f), encoderCfg.depth() + 1);
    encode2 = Dense.create(ps, enc.withSubScope("1"), d, cd, true, init.kernel(d, cd, 1f), encoderCfg.depth() + 1);
    quantizer = NormEmaQuantizer.create(ps, t.withSubScope("quantize"), cfg.getCodebookSize(), cd);
    decoder = VisionTransformer.create(ps, t.withSubScope("decoder"), decoderCfg, false);
    int dd = decoderCfg.width();
    Ops dec = t.withSubScope("decode_task");
    decode1 = Dense.create(ps, dec.withSubScope("0"), dd, dd, true, init.kernel(dd, dd, 1f), encoderCfg.depth() + 1);
    decode2 = Dense.create(ps, dec.withSubScope("1"), dd, targetDim, true, init.kernel(dd, targetDim, 1f),
        encoderCfg.depth() + 1);
  }

  /** Images [B, H, W, C] in [0, 1] → L2-normalised code-space features z [B·N, d] (fp32). */
  Operand<TFloat32> encode(Ops tf, Compute c, Operand<TFloat32> images, Operand<TInt64> dropSeed) {
    var out = encoder.forward(tf, c, images, VisionTransformer.Inputs.none().dropSeed(dropSeed));
    Operand<TFloat32> rows = tf.reshape(out.patchTokens(tf), tf.constant(new int[] {-1, encoderCfg.width()}));
    // the task layers run in fp32 in the official code
    Operand<TFloat32> h = encode2.apply(tf, Compute.fp32(), tf.math.tanh(encode1.apply(tf, Compute.fp32(), rows)));
    return NormEmaQuantizer.l2norm(tf, h);
  }

  /** Quantised codes [B·N, d] → decoder predictions [B·N, targetDim]. */
  Operand<TFloat32> decode(Ops tf, Compute c, Operand<TFloat32> codes, Operand<TInt64> dropSeed) {
    int g = encoderCfg.grid();
    Operand<TFloat32> map = tf.reshape(codes, tf.constant(new int[] {-1, g, g, cfg.getCodebookDim()}));
    var out = decoder.forward(tf, c, map, VisionTransformer.Inputs.none().dropSeed(dropSeed));
    Operand<TFloat32> rows = tf.reshape(out.patchTokens(tf), tf.constant(new int[] {-1, decoderCfg.width()}));
    return decode2.apply(tf, c, tf.math.tanh(decode1.apply(tf, c, rows)));
  }
}
