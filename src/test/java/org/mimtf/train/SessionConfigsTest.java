package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.util.UserException;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.RewriterConfig;

class SessionConfigsTest {
  @Test
  void rewriterTogglesAreSetAndTheRestOfTheConfigKept() {
    ConfigProto base = SessionConfigs.training(TrainingConfig.newBuilder().setIntraOpThreads(3).build());
    ConfigProto c = SessionConfigs.withRewriter(base,
        "remapping=off, arithmetic_optimization=aggressive,auto_mixed_precision_onednn_bfloat16=on");
    RewriterConfig rw = c.getGraphOptions().getRewriteOptions();
    assertEquals(RewriterConfig.Toggle.OFF, rw.getRemapping());
    assertEquals(RewriterConfig.Toggle.AGGRESSIVE, rw.getArithmeticOptimization());
    assertEquals(RewriterConfig.Toggle.ON, rw.getAutoMixedPrecisionOnednnBfloat16());
    assertEquals(RewriterConfig.Toggle.DEFAULT, rw.getLayoutOptimizer());
    assertEquals(3, c.getIntraOpParallelismThreads());
    assertTrue(c.getAllowSoftPlacement());
    assertSame(base, SessionConfigs.withRewriter(base, ""));
  }

  @Test
  void badTogglesNameTheItem() {
    ConfigProto base = SessionConfigs.inference();
    UserException e = assertThrows(UserException.class, () -> SessionConfigs.withRewriter(base, "remaping=off"));
    assertTrue(e.getMessage().contains("'remaping=off'"), e.getMessage());
    // an existing field that is not a toggle
    assertThrows(UserException.class, () -> SessionConfigs.withRewriter(base, "min_graph_nodes=on"));
    e = assertThrows(UserException.class, () -> SessionConfigs.withRewriter(base, "remapping=maybe"));
    assertTrue(e.getMessage().contains("on, off, aggressive or default"), e.getMessage());
  }

  @Test
  void frozenModelsRunInBf16OnlyForBf16RunsOnCpusWithNativeBf16() {
    org.mimtf.config.proto.TrainingConfig fp32 = org.mimtf.config.proto.TrainingConfig.getDefaultInstance();
    org.mimtf.config.proto.TrainingConfig bf16 = fp32.toBuilder()
        .setPrecision(org.mimtf.config.proto.TrainingConfig.Precision.BF16).build();
    org.tensorflow.proto.RewriterConfig.Toggle on = org.tensorflow.proto.RewriterConfig.Toggle.ON;
    org.junit.jupiter.api.Assertions.assertEquals(on, SessionConfigs.frozenModel(bf16, true).getGraphOptions()
        .getRewriteOptions().getAutoMixedPrecisionOnednnBfloat16());
    org.junit.jupiter.api.Assertions.assertEquals(SessionConfigs.inference(), SessionConfigs.frozenModel(bf16, false));
    org.junit.jupiter.api.Assertions.assertEquals(SessionConfigs.inference(), SessionConfigs.frozenModel(fp32, true));
  }
}
