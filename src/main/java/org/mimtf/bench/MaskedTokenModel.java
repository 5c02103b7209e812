package org.mimtf.bench;

import java.util.List;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.Losses;
import org.mimtf.api.MimMethod;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The benchmark model of {@code bench step}: a BEiT-style ViT with mask token, a linear head to
 * {@code classes} ids and cross-entropy on the masked positions — the core of every masked-token
 * method, without a tokenizer. Fields: {@code image}, {@code mask}, {@code targets} int32 [N].
 */
public final class MaskedTokenModel implements MimMethod {
  private final VitConfig vit;
  private final int classes;
  private VisionTransformer encoder;
  private Dense head;

  public MaskedTokenModel(VitConfig vit, int classes) {
    this.vit = vit;
    this.classes = classes;
  }

  public List<FieldSpec> fields() {
    int n = vit.numPatches();
    return List.of(FieldSpec.of("image", FieldSpec.DType.FLOAT32, vit.imageSize(), vit.imageSize(), vit.channels()),
        FieldSpec.of("mask", FieldSpec.DType.BOOL, n), FieldSpec.of("targets", FieldSpec.DType.INT32, n));
  }

  @Override
  public String name() {
    return "masked_token_prediction";
  }

  @Override
  public void create(Ops tf, ParamStore ps) {
    encoder = VisionTransformer.create(ps, tf.withSubScope("encoder"), vit, true);
    head = Dense.create(ps, tf.withSubScope("heads").withSubScope("mim"), vit.width(), classes, true,
        encoder.initScheme().kernel(vit.width(), classes, 1f), vit.depth() + 1);
  }

  @Override
  public TowerOutput tower(Ops tf, Compute c, TowerInputs in) {
    var out = encoder.forward(tf, c, in.floats("image"),
        VisionTransformer.Inputs.none().mask(in.bools("mask")).dropSeed(in.step().dropSeed()));
    Operand<TInt64> where = tf.where(in.bools("mask"));
    Operand<TFloat32> logits = head.apply(tf, c, tf.gatherNd(out.patchTokens(tf), where));
    Operand<TFloat32> ce = Losses.crossEntropy(tf, logits, tf.gatherNd(in.ints("targets"), where), classes);
    return TowerOutput.builder(ce).term("ce", ce).build();
  }

  /** Training FLOPs per image (forward x3), with {@code maskedFraction} of the patches through the head. */
  public double trainFlopsPerImage(double maskedFraction) {
    return 3 * (vit.forwardFlops(vit.numPatches() + 1) + 2.0 * maskedFraction * vit.numPatches() * vit.width() * classes);
  }

  @Override
  public EncoderSpec encoder() {
    return new EncoderSpec(vit, "encoder");
  }
}
