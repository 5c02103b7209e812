package org.mimtf.methods;

import java.nio.file.Files;
import java.nio.file.Path;
import org.mimtf.config.proto.Recipe;
import org.mimtf.methods.ccvit.CcvitMethod;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.util.Npy;
import org.mimtf.util.UserException;

/** Builds the {@link MimMethod} a recipe names, loading the artifacts of earlier stages it needs. */
public final class Methods {
  private Methods() {}

  public static MimMethod create(Recipe r) {
    return switch (r.getMethodCase()) {
      case CCVIT -> ccvit(r);
      case BEITV2 -> beitv2(r);
      case CONMIM -> new org.mimtf.methods.conmim.ConmimMethod(r);
      case MOCA -> new org.mimtf.methods.moca.MocaMethod(r);
      case SMR -> smr(r);
      case METHOD_NOT_SET -> throw new UserException("the recipe names no method");
    };
  }

  /**
   * The per-example stages a recipe's method adds to the pipeline (without loading its artifacts, so
   * a data preview works before any tokenizer exists).
   */
  public static java.util.List<org.mimtf.data.pipeline.SampleStage> pipelineStages(Recipe r) {
    if (r.hasCcvit()) {
      int g = r.getModel().getImageSize() / r.getModel().getPatchSize();
      return java.util.List.of(org.mimtf.data.pipeline.Stages.replacement("replaced", "mask", g * g,
          r.getCcvit().getNumReplacedPatches()));
    }
    return java.util.List.of();
  }

  /**
   * The encoder a recipe's method keeps, without loading its artifacts (export and evaluation need
   * only its shape and checkpoint scope).
   */
  public static EncoderSpec encoderSpec(Recipe r) {
    org.mimtf.nn.VitConfig vit = org.mimtf.nn.VitConfig.from(r.getModel());
    return switch (r.getMethodCase()) {
      case CONMIM -> new EncoderSpec(vit, r.getConmim().getExportEncoder()
          == org.mimtf.config.proto.ConmimConfig.ExportEncoder.MOMENTUM ? "momentum/encoder" : "encoder");
      case MOCA -> new EncoderSpec(vit, r.getMoca().getExportEncoder()
          == org.mimtf.config.proto.MocaConfig.ExportEncoder.STUDENT ? "encoder" : "teacher/encoder");
      default -> new EncoderSpec(vit, "encoder");
    };
  }

  private static MimMethod beitv2(Recipe r) {
    Path sm = org.mimtf.methods.beitv2.VqkdTokenizer.savedModel(r);
    if (!Files.exists(sm.resolve("saved_model.pb"))) {
      throw new UserException("no BEiT v2 tokenizer at " + sm + ": train it first with\n  scripts/mimtf tokenizer "
          + "train --recipe <this recipe>\n(or point beitv2.tokenizer.dir at an existing tokenizer folder)");
    }
    var m = r.getModel();
    int g = m.getImageSize() / m.getPatchSize();
    var tok = org.mimtf.teachers.SavedModelTeacher.load(org.mimtf.config.proto.TeacherConfig.newBuilder()
        .setSavedModelDir(sm.toString()).setOutputKey(org.mimtf.methods.beitv2.VqkdTokenizer.TOKEN_IDS).build(),
        "beitv2.tokenizer.dir", m.getImageSize(), m.getChannels(), g * g, true);
    return new org.mimtf.methods.beitv2.Beitv2Method(r, new org.mimtf.teachers.TokenizerIds(tok,
        r.getData().getView(0).getName(), "tokens", m.getImageSize(), m.getChannels()));
  }

  private static MimMethod smr(Recipe r) {
    var m = r.getModel();
    if (r.getSmr().getTarget() == org.mimtf.config.proto.SmrConfig.Target.PIXELS) {
      return new org.mimtf.methods.smr.SmrMethod(r, null, 0);
    }
    Path sm = Path.of(r.getSmr().getTeacher().getSavedModelDir());
    if (!Files.isDirectory(sm)) {
      throw new UserException("no SMR teacher at " + sm + ": smr.teacher.saved_model_dir must name a SavedModel "
          + "that maps images to per-patch features; the small recipe's teacher is the CCViT encoder made by\n"
          + "  scripts/quickstart.sh ccvit\n(or scripts/mimtf tokenizer build + pretrain --recipe "
          + "graphs/ccvit_fmnist_small.pbtxt), or use smr.target: PIXELS");
    }
    int g = m.getImageSize() / m.getPatchSize();
    var teacher = org.mimtf.teachers.SavedModelTeacher.load(r.getSmr().getTeacher(), "smr.teacher",
        m.getImageSize(), m.getChannels(), g * g, false);
    var features = new org.mimtf.teachers.TeacherFeatures(teacher, r.getData().getView(0).getName(),
        org.mimtf.methods.smr.SmrMethod.TEACHER_FIELD, m.getImageSize(), m.getChannels());
    return new org.mimtf.methods.smr.SmrMethod(r, features, features.dim());
  }

  private static MimMethod ccvit(Recipe r) {
    Path dir = CentroidTokenizerBuilder.dir(r);
    Path file = dir.resolve("centroids.npy");
    if (!Files.exists(file)) {
      throw new UserException("no CCViT tokenizer at " + file + ": build it first with\n  scripts/mimtf tokenizer "
          + "build --recipe <this recipe>\n(or point ccvit.tokenizer.dir at an existing tokenizer folder)");
    }
    Npy.Array a = Npy.read(file);
    int k = r.getCcvit().getTokenizer().getNumCentroids();
    if (a.shape().length != 2 || a.shape()[0] != k) {
      throw new UserException(file + " holds centroids of shape " + java.util.Arrays.toString(a.shape())
          + " but ccvit.tokenizer.num_centroids is " + k + "; rebuild the tokenizer");
    }
    return new CcvitMethod(r, a.data(), k);
  }
}
