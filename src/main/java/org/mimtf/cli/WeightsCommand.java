package org.mimtf.cli;

import java.nio.file.Path;
import org.mimtf.config.proto.Recipe;
import org.mimtf.export.Exports;
import org.mimtf.api.EncoderSpec;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.train.Checkpoints;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import org.mimtf.weights.TimmNames;
import org.mimtf.weights.WeightsTransfer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mimtf weights import|export}: encoder weights from and to PyTorch (timm / BEiT names). */
@Command(name = "weights", mixinStandardHelpOptions = true,
    description = "Import timm/BEiT PyTorch weights (safetensors, .pth) into a mimtf checkpoint, or export a "
        + "mimtf encoder under timm names as safetensors.",
    subcommands = {WeightsCommand.Import.class, WeightsCommand.Export.class})
final class WeightsCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(name = "import", mixinStandardHelpOptions = true,
      description = {"Map a PyTorch state dict (timm vit_*/MAE or timm beit_*/official BEiT names; safetensors or "
          + "torch.save .pth with model/module/state_dict wrappers and module./student./encoder. prefixes) onto the "
          + "recipe's encoder, checking every shape.",
          "Writes OUT/checkpoints/ckpt-0 (for pretrain --init-from) and OUT/saved_model (the encoder export, for "
              + "eval, features and SavedModel teachers)."})
  static final class Import implements Runnable {
    @Mixin RecipeOptions recipe;

    @Option(names = "--from", required = true, paramLabel = "FILE", description = "PyTorch weights (.safetensors, "
        + ".pth, .pt).")
    Path from;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default imported/<file name>).")
    Path out;

    @Option(names = "--key", paramLabel = "KEY", description = "Entry of a .pth checkpoint dict that holds the "
        + "weights (default: the first of model, module, state_dict; or the file itself when it is flat).")
    String key;

    @Option(names = "--allow-missing", description = "Write the checkpoint even if encoder variables are missing "
        + "(no SavedModel then; pretrain --init-from keeps their initialisation).")
    boolean allowMissing;

    @Override
    public void run() {
      Recipe r = recipe.load();
      EncoderSpec spec = MethodRegistry.encoderSpec(r);
      String stem = from.getFileName().toString().replaceFirst("\\.(safetensors|pth|pt|bin)$", "");
      Path dir = out != null ? out : Path.of("imported", stem);
      WeightsTransfer.ImportReport rep = WeightsTransfer.importFile(from, key, spec.config(), dir, allowMissing,
          Exports.extras(r, null));
      var m = rep.mapped();
      System.out.printf("read %d tensors from %s%s%s%n", rep.source().tensors().size(), from,
          rep.source().wrapper().isEmpty() ? "" : " (under '" + rep.source().wrapper() + "')",
          rep.source().strippedPrefixes().isEmpty() ? "" : ", prefixes " + rep.source().strippedPrefixes()
              + " removed");
      System.out.printf("loaded %d encoder variables from %d tensors; ignored %d: %s%n", m.variables().size(),
          m.used().size(), m.ignored().size(), abbreviate(m.ignored()));
      if (!m.missing().isEmpty()) {
        System.out.println("missing (initialised by the recipe instead): " + m.missing());
      }
      m.notes().forEach(n -> System.out.println("note: " + n));
      System.out.println("checkpoint: " + rep.checkpoint() + (rep.savedModel() == null ? ""
          : "\nencoder SavedModel: " + rep.savedModel()));
      System.out.println(rep.json());
    }

    private static String abbreviate(java.util.List<String> names) {
      return names.size() <= 8 ? names.toString() : names.subList(0, 8) + " and " + (names.size() - 8) + " more";
    }
  }

  @Command(name = "export", mixinStandardHelpOptions = true,
      description = "Write the recipe's encoder (the one 'mimtf export' exports) under timm names as safetensors: "
          + "BEiT-style encoders (relative bias or q/v biases) load into timm's beit_* models, the others into vit_*.")
  static final class Export implements Runnable {
    @Mixin RecipeOptions recipe;

    @Option(names = "--checkpoint", paramLabel = "PREFIX", description = "Checkpoint prefix (default: the run's "
        + "latest); an imported one works too.")
    Path checkpoint;

    @Option(names = "--to", required = true, paramLabel = "FILE", description = "Output .safetensors file.")
    Path to;

    @Option(names = "--flavour", paramLabel = "VIT|BEIT", description = "Force timm's VisionTransformer (VIT) or "
        + "Beit (BEIT) names (default: from the encoder's options).")
    TimmNames.Flavour flavour;

    @Option(names = "--whole-student", description = "Also write the student's mask token, heads and decoders "
        + "(mimtf names with '.', kernels as [in, out]).")
    boolean wholeStudent;

    @Override
    public void run() {
      Recipe r = recipe.load();
      EncoderSpec spec = MethodRegistry.encoderSpec(r);
      Path ckpt = checkpoint != null ? checkpoint : new Checkpoints(Path.of(r.getTraining().getRunDir())
          .resolve("checkpoints"), 1).latest().orElseThrow(() -> new UserException("no checkpoint in "
          + r.getTraining().getRunDir() + "/checkpoints: pre-train first, or pass --checkpoint"));
      TimmNames.Flavour f = flavour != null ? flavour : TimmNames.flavour(spec.config());
      var rep = WeightsTransfer.exportFile(spec, ckpt, to, f, wholeStudent, java.util.Map.of("mimtf_recipe",
          r.getName(), "mimtf_checkpoint", ckpt.toString()));
      var c = spec.config();
      String hint = f == TimmNames.Flavour.BEIT
          ? "timm.create_model('beit_…', img_size=" + c.imageSize() + ", patch_size=" + c.patchSize() + ", embed_dim="
              + c.width() + ", depth=" + c.depth() + ", num_heads=" + c.numHeads() + ", num_classes=0, "
              + "global_pool='token', use_abs_pos_emb=" + (c.absPos() != org.mimtf.config.proto.ModelConfig
              .AbsPosEmbedding.ABS_NONE ? "True" : "False") + ", use_rel_pos_bias=" + (c.relPos()
              == org.mimtf.config.proto.ModelConfig.RelPosBias.PER_BLOCK ? "True" : "False")
              + ", use_shared_rel_pos_bias=" + (c.relPos() == org.mimtf.config.proto.ModelConfig.RelPosBias.SHARED
              ? "True" : "False") + ", init_values=" + (c.layerScaleInit() > 0 ? c.layerScaleInit() : "None") + ")"
          : "timm.create_model('vit_…', img_size=" + c.imageSize() + ", patch_size=" + c.patchSize() + ", embed_dim="
              + c.width() + ", depth=" + c.depth() + ", num_heads=" + c.numHeads() + ", num_classes=0, "
              + "global_pool='token', qkv_bias=" + (c.qkvBias() != org.mimtf.config.proto.ModelConfig.QkvBias
              .NO_QKV_BIAS ? "True" : "False") + ", init_values=" + (c.layerScaleInit() > 0 ? c.layerScaleInit()
              : "None") + ")";
      System.out.printf("wrote %d tensors (%s names) from %s (%s) to %s%n", rep.tensors(),
          f.name().toLowerCase(), ckpt.getFileName(), rep.scope(), to);
      System.out.println("load with: m = " + hint + "; m.load_state_dict(safetensors.torch.load_file(\"" + to
          + "\"), strict=True)");
      System.out.println(Json.obj().put("file", to.toString()).put("flavour", f.name().toLowerCase())
          .put("tensors", rep.tensors()).put("student_extra_tensors", rep.extraStudentTensors())
          .put("checkpoint", ckpt.toString()).put("encoder_scope", rep.scope()));
    }
  }
}
