package org.mimtf.methods.beitv2;

import java.nio.file.Files;
import java.nio.file.Path;
import org.mimtf.api.InputPaths;
import org.mimtf.api.MethodSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.api.RecipeChecks;
import org.mimtf.config.proto.Beitv2Config;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.TeacherConfig;
import org.mimtf.teachers.SavedModelTeacher;
import org.mimtf.teachers.TokenizerIds;
import org.mimtf.util.UserException;

/**
 * BEiT v2's recipe rules (stage 2 and the VQ-KD tokenizer stage, which has a model, optimizer,
 * schedule and training of its own) and its tokenizer artifact ({@code <tokenizer dir>/saved_model},
 * made by {@code mimtf tokenizer train}, {@link VqkdTokenizer}).
 */
public final class Beitv2Spec implements MethodSpec {
  @Override
  public void validate(Recipe r, RecipeChecks c) {
    Beitv2Config b = r.getBeitv2();
    c.require(r.getMasking().hasBlock(), "beitv2 needs masking.block { } (BEiT block-wise masking), got %s",
        r.getMasking().getGeneratorCase());
    c.earlyLayer("beitv2.early_layers", b.getEarlyLayers(), r.getModel());
    c.decoder("beitv2.aggregation_head", b.getAggregationHead(), r.getModel());
    Beitv2Config.Vqkd v = b.getTokenizer();
    c.model("beitv2.tokenizer.encoder", v.getEncoder());
    c.decoder("beitv2.tokenizer.decoder", v.getDecoder(), v.getEncoder());
    c.require(v.getEncoder().getImageSize() == r.getModel().getImageSize()
            && v.getEncoder().getPatchSize() == r.getModel().getPatchSize(),
        "beitv2.tokenizer.encoder's patch grid (%s/%s) must match model's (%s/%s): one token per student patch",
        v.getEncoder().getImageSize(), v.getEncoder().getPatchSize(), r.getModel().getImageSize(),
        r.getModel().getPatchSize());
    c.require(v.getCodebookSize() >= 2, "beitv2.tokenizer.codebook_size (%s) must be >= 2", v.getCodebookSize());
    c.require(v.getCodebookDim() >= 1, "beitv2.tokenizer.codebook_dim (%s) must be >= 1", v.getCodebookDim());
    c.ratio("beitv2.tokenizer.ema_decay", v.getEmaDecay());
    c.data("beitv2.tokenizer.data", v.getData(), v.getEncoder());
    if (v.hasTeacher()) {
      c.teacher("beitv2.tokenizer.teacher", v.getTeacher());
    }
    if (v.hasOptimizer()) {
      c.optimizer("beitv2.tokenizer.optimizer", v.getOptimizer());
    }
    if (v.hasSchedule()) {
      c.schedule("beitv2.tokenizer.schedule", v.getSchedule());
    }
    if (v.hasTraining()) {
      c.training("beitv2.tokenizer.training", v.getTraining());
    }
  }

  /** The tokenizer stage's teacher, folder and data source. */
  @Override
  public void resolveInputs(Recipe.Builder b, InputPaths paths) {
    Beitv2Config.Vqkd v = b.getBeitv2().getTokenizer();
    Beitv2Config.Vqkd.Builder vb = b.getBeitv2Builder().getTokenizerBuilder();
    if (v.hasTeacher()) {
      vb.setTeacher(paths.teacher(v.getTeacher()));
    }
    if (!v.getDir().isEmpty()) {
      vb.setDir(paths.input(v.getDir()));
    }
    if (v.getData().hasSource()) {
      vb.getDataBuilder().setSource(paths.source(v.getData().getSource()));
    }
  }

  @Override
  public MimMethod create(Recipe r) {
    Path sm = VqkdTokenizer.savedModel(r);
    if (!Files.exists(sm.resolve("saved_model.pb"))) {
      throw new UserException("no BEiT v2 tokenizer at " + sm + ": train it first with\n  scripts/mimtf tokenizer "
          + "train --recipe <this recipe>\n(or point beitv2.tokenizer.dir at an existing tokenizer folder)");
    }
    var m = r.getModel();
    int g = RecipeChecks.grid(r);
    var tok = SavedModelTeacher.load(TeacherConfig.newBuilder().setSavedModelDir(sm.toString())
        .setOutputKey(VqkdTokenizer.TOKEN_IDS).build(), "beitv2.tokenizer.dir", m.getImageSize(), m.getChannels(),
        g * g, true, org.mimtf.train.SessionConfigs.frozenModel(r.getTraining()));
    return new Beitv2Method(r, new TokenizerIds(tok, r.getData().getView(0).getName(), "tokens", m.getImageSize(),
        m.getChannels()));
  }
}
