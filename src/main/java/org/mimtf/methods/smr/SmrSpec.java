package org.mimtf.methods.smr;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import org.mimtf.api.ExtraExport;
import org.mimtf.api.InputPaths;
import org.mimtf.api.MethodSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.api.RecipeChecks;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SmrConfig;
import org.mimtf.nn.reduce.TokenCompression;
import org.mimtf.teachers.SavedModelTeacher;
import org.mimtf.teachers.TeacherFeatures;
import org.mimtf.util.UserException;

/**
 * SMR's recipe rules (every compressing block must remove exactly {@code merge_per_block} tokens),
 * its teacher artifact and its extra export (the merging encoder, {@link MergingExport}).
 */
public final class SmrSpec implements MethodSpec {
  @Override
  public void validate(Recipe r, RecipeChecks v) {
    SmrConfig s = r.getSmr();
    int n = RecipeChecks.grid(r) * RecipeChecks.grid(r);
    v.require(s.getMergePerBlock() >= 0, "smr.merge_per_block (%s) must be >= 0", s.getMergePerBlock());
    List<Integer> blocks = s.getMergeBlocksList();
    int depth = r.getModel().getDepth();
    for (int i = 0; i < blocks.size(); i++) {
      v.require(blocks.get(i) >= 1 && blocks.get(i) <= depth, "smr.merge_blocks[%s] (%s) must be in [1, %s]", i,
          blocks.get(i), depth);
    }
    int count = blocks.isEmpty() ? Math.min(4, depth) : blocks.size();
    int removed = count * s.getMergePerBlock();
    v.require(removed < n, "smr removes %s tokens (%s blocks x merge_per_block %s) but the grid has only %s",
        removed, count, s.getMergePerBlock(), n);
    v.require(r.getModel().getRelPosBias() == ModelConfig.RelPosBias.REL_NONE,
        "smr merges tokens, which a relative bias cannot follow: model.rel_pos_bias must be REL_NONE (got %s)",
        r.getModel().getRelPosBias());
    v.require(r.getModel().getAbsPosEmbedding() != ModelConfig.AbsPosEmbedding.ABS_NONE,
        "smr needs an absolute position embedding (model.abs_pos_embedding SINCOS_2D or LEARNED)");
    v.require(new HashSet<>(blocks).size() == blocks.size(), "smr.merge_blocks %s names a block twice", blocks);
    if (removed < n && blocks.stream().allMatch(b -> b >= 1 && b <= depth)) {
      // every compressing block must remove exactly K tokens (ToMe would silently merge fewer)
      var c = SmrMethod.compression(s, depth);
      int t = n + 1;
      for (int b = 0; b < depth; b++) {
        if (c.kind() != TokenCompression.Kind.NONE && c.blocks().contains(b)) {
          int got = c.removedAt(t);
          v.require(got == s.getMergePerBlock(), "smr.merge_per_block (%s) is more than block %s can remove from its "
              + "%s tokens with %s (at most %s: bipartite matching merges at most half of the non-CLS tokens, "
              + "fusion and random dropping keep at least one patch token)", s.getMergePerBlock(), b + 1, t,
              s.getReducer(), got);
          t -= got;
        }
      }
    }
    int dw = s.getDecoder().getWidth() == 0 ? r.getModel().getWidth() : s.getDecoder().getWidth();
    v.require(dw % 4 == 0, "smr.decoder.width (%s) must be divisible by 4 (2-D sin-cos positions)", dw);
    v.decoder("smr.decoder", s.getDecoder(), r.getModel());
    if (s.getTarget() == SmrConfig.Target.TEACHER_FEATURES) {
      v.teacher("smr.teacher", s.getTeacher());
    }
  }

  /** {@code smr.teacher.saved_model_dir}. */
  @Override
  public void resolveInputs(Recipe.Builder b, InputPaths paths) {
    if (b.getSmr().hasTeacher()) {
      b.getSmrBuilder().setTeacher(paths.teacher(b.getSmr().getTeacher()));
    }
  }

  /** {@code export_encoder: PLAIN_AND_MERGING} adds the merging encoder. */
  @Override
  public List<ExtraExport> extraExports(Recipe r) {
    return MergingExport.wanted(r) ? List.of(MergingExport::exportRun) : List.of();
  }

  @Override
  public MimMethod create(Recipe r) {
    var m = r.getModel();
    if (r.getSmr().getTarget() == SmrConfig.Target.PIXELS) {
      return new SmrMethod(r, null, 0);
    }
    Path sm = Path.of(r.getSmr().getTeacher().getSavedModelDir());
    if (!Files.isDirectory(sm)) {
      throw new UserException("no SMR teacher at " + sm + ": smr.teacher.saved_model_dir must name a SavedModel "
          + "that maps images to per-patch features; the small recipe's teacher is the MOCA encoder made by\n"
          + "  scripts/quickstart.sh moca\n(or scripts/mimtf pretrain --recipe graphs/moca_fmnist_small.pbtxt), "
          + "or use smr.target: PIXELS");
    }
    int g = RecipeChecks.grid(r);
    var teacher = SavedModelTeacher.load(r.getSmr().getTeacher(), "smr.teacher", m.getImageSize(), m.getChannels(),
        g * g, false, org.mimtf.train.SessionConfigs.frozenModel(r.getTraining()));
    var features = new TeacherFeatures(teacher, r.getData().getView(0).getName(), SmrMethod.TEACHER_FIELD,
        m.getImageSize(), m.getChannels());
    return new SmrMethod(r, features, features.dim());
  }
}
