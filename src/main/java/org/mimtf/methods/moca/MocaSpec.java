package org.mimtf.methods.moca;

import org.mimtf.api.EncoderSpec;
import org.mimtf.api.MethodSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.api.RecipeChecks;
import org.mimtf.config.proto.MocaConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.nn.VitConfig;

/** MOCA's recipe rules and the encoder it keeps (the EMA teacher's, moca.md). */
public final class MocaSpec implements MethodSpec {
  @Override
  public void validate(Recipe r, RecipeChecks v) {
    MocaConfig c = r.getMoca();
    int g = RecipeChecks.grid(r);
    v.require(r.getMasking().hasComplementary(),
        "moca needs masking.complementary { } (two complementary rounds), got %s", r.getMasking().getGeneratorCase());
    v.require(c.getNumWords() > 0 && c.getNumNewWords() > 0 && c.getNumWords() % c.getNumNewWords() == 0,
        "moca.num_new_words (%s) must divide moca.num_words (%s)", c.getNumNewWords(), c.getNumWords());
    v.require(c.getBorder() >= 0 && 2 * c.getBorder() < g, "moca.border (%s) leaves no interior on a %sx%s grid",
        c.getBorder(), g, g);
    v.earlyLayer("moca.early_layer", c.getEarlyLayer(), r.getModel());
    v.unitClosed("moca.img_loss_weight", c.getImgLossWeight());
    v.unitClosed("moca.teacher_momentum", c.getTeacherMomentum());
    v.unitClosed("moca.teacher_momentum_end", c.getTeacherMomentumEnd());
    v.require(c.getKappa() > 0 && c.getInvDelta() > 0, "moca.kappa (%s) and moca.inv_delta (%s) must be > 0",
        c.getKappa(), c.getInvDelta());
    v.decoder("moca.decoder", c.getDecoder(), r.getModel());
    v.require(r.getModel().getRelPosBias() == ModelConfig.RelPosBias.REL_NONE,
        "moca encodes visible tokens only: model.rel_pos_bias must be REL_NONE (got %s)", r.getModel().getRelPosBias());
    v.require(r.getModel().getAbsPosEmbedding() != ModelConfig.AbsPosEmbedding.ABS_NONE,
        "moca encodes visible tokens only: model.abs_pos_embedding must be SINCOS_2D or LEARNED");
    v.viewExists(r, "moca.first_view", c.getFirstView());
    v.viewExists(r, "moca.second_view", c.getSecondView());
    v.require(!c.getFirstView().equals(c.getSecondView()), "moca.first_view and moca.second_view must differ (both "
        + "\"%s\"): the teacher's bag of words of one view is the target of the other", c.getFirstView());
    int decWidth = c.getDecoder().getWidth() == 0 ? r.getModel().getWidth() : c.getDecoder().getWidth();
    v.require(decWidth % 4 == 0, "moca.decoder.width (%s) must be divisible by 4 (2-D sin-cos positions)", decWidth);
    // Each tower draws the queue's new words among its own images first (MocaMethod).
    v.require(r.getTraining().getBatchSize() >= c.getNumNewWords(),
        "training.batch_size (%s) must be at least moca.num_new_words (%s) per device",
        r.getTraining().getBatchSize(), c.getNumNewWords());
  }

  @Override
  public EncoderSpec encoder(Recipe r) {
    // moca.export_encoder: the EMA teacher (the paper's) or the student, for short runs whose teacher
    // still holds a share of the random initialisation.
    return new EncoderSpec(VitConfig.from(r.getModel()),
        r.getMoca().getExportEncoder() == MocaConfig.ExportEncoder.STUDENT ? "encoder" : "teacher/encoder");
  }

  @Override
  public MimMethod create(Recipe r) {
    return new MocaMethod(r);
  }
}
