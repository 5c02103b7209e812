package org.mimtf.methods.conmim;

import org.mimtf.api.EncoderSpec;
import org.mimtf.api.MethodSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.api.RecipeChecks;
import org.mimtf.config.proto.ConmimConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.nn.VitConfig;

/** ConMIM's recipe rules and the encoder it keeps (the momentum encoder by default). */
public final class ConmimSpec implements MethodSpec {
  @Override
  public void validate(Recipe r, RecipeChecks v) {
    ConmimConfig c = r.getConmim();
    v.require(r.getMasking().hasRandom(), "conmim needs masking.random { } (random masking in units), got %s",
        r.getMasking().getGeneratorCase());
    v.require(c.getTemperature() > 0, "conmim.temperature (%s) must be > 0", c.getTemperature());
    v.unitClosed("conmim.teacher_momentum", c.getTeacherMomentum());
    v.unitClosed("conmim.teacher_momentum_end", c.getTeacherMomentumEnd());
    v.viewExists(r, "conmim.online_view", c.getOnlineView());
    v.viewExists(r, "conmim.momentum_view", c.getMomentumView());
    v.require(c.getProjector().getNumLayers() >= 1, "conmim.projector.num_layers (%s) must be >= 1",
        c.getProjector().getNumLayers());
    v.require(c.getProjector().getHiddenDim() >= 1 && c.getProjector().getOutputDim() >= 1,
        "conmim.projector.hidden_dim (%s) and output_dim (%s) must be >= 1", c.getProjector().getHiddenDim(),
        c.getProjector().getOutputDim());
    v.require(c.getProjector().getBatchNormEps() > 0, "conmim.projector.batch_norm_eps (%s) must be > 0",
        c.getProjector().getBatchNormEps());
    // Queries and keys are matched by position: the momentum view must have the online view's crop
    // and flip (conmim.md §2), i.e. be that view or share its geometry.
    if (!c.getMomentumView().equals(c.getOnlineView())) {
      for (var view : r.getData().getViewList()) {
        if (view.getName().equals(c.getMomentumView())) {
          v.require(view.getGeometryFrom().equals(c.getOnlineView()),
              "conmim.momentum_view \"%s\" must share the online view's crop and flip (set geometry_from: \"%s\" "
                  + "in its data.view), got geometry_from \"%s\"", c.getMomentumView(), c.getOnlineView(),
              view.getGeometryFrom());
        }
      }
    }
  }

  /** {@code conmim.export_encoder}: the momentum encoder (the paper's choice) or the online one. */
  @Override
  public EncoderSpec encoder(Recipe r) {
    return new EncoderSpec(VitConfig.from(r.getModel()),
        r.getConmim().getExportEncoder() == ConmimConfig.ExportEncoder.MOMENTUM ? "momentum/encoder" : "encoder");
  }

  @Override
  public MimMethod create(Recipe r) {
    return new ConmimMethod(r);
  }
}
