package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;

/**
 * The ViT-B recipes' fine-tuning views build into BEiT's fine-tuning transform: RandomResizedCrop,
 * flip, RandAugment {@code rand-m9-mstd0.5-inc1}, random erasing 0.25 in the model's normalised space.
 */
class FinetuneRecipeAugmentTest {
  @ParameterizedTest
  @ValueSource(strings = {"beitv2", "ccvit", "conmim", "moca", "smr"})
  void vitB16FinetuneViewHasRandAugmentAndErasing(String method) {
    Recipe r = RecipeLoader.load(Path.of("graphs", method + "_vit_b16.pbtxt"), List.of());
    var view = r.getFinetune().getData().getView(0);
    List<Augmentation> ops =
        Augmentations.buildAll("finetune.data.view[0].augment", view.getAugmentList(), 224).ops();
    assertEquals(4, ops.size());
    assertInstanceOf(RandomResizedCrop.class, ops.get(0));
    assertInstanceOf(HorizontalFlip.class, ops.get(1));
    assertEquals("RandAugment(n=2, m=9.0, mstd=0.5, inc=1, prob=0.5)", ops.get(2).toString());
    assertInstanceOf(RandomErasing.class, ops.get(3));
    assertEquals(
        "RandomErasing(p=0.25, area=[0.02, 0.333333], aspect=[0.3, 3.3333333333333335], mode=PIXEL,"
            + " max_count=1)",
        ops.get(3).toString());
    var erase = view.getAugment(3).getRandomErasing();
    assertEquals(r.getModel().getInputMeanList(), erase.getMeanList());
    assertEquals(r.getModel().getInputStdList(), erase.getStdList());
  }
}
