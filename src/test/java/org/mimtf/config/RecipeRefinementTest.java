package org.mimtf.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.Recipe;

/** {@code base_recipe}: a recipe that states only how it differs from another. */
class RecipeRefinementTest {
  @TempDir Path dir;

  private Path write(String name, String text) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    return p;
  }

  /** The small CCViT recipe of RecipeLoaderTest with two views and a schedule, in a sub-folder. */
  private Path base() throws IOException {
    return write("base/small.pbtxt", RecipeLoaderTest.SMALL.replace("data { source { kind: IDX path: \"train.gz\" } }",
        """
        data {
          source { kind: IDX path: "train.gz" }
          view { name: "a" augment { horizontal_flip { p: 0.5 } } }
          view { name: "b" }
        }
        schedule { base_lr: 1e-3 warmup_steps: 4 }
        """).replace("training { batch_size: 8 steps: 10 }", "training { batch_size: 8 steps: 10 seed: 3 }"));
  }

  @Test
  void refinementReplacesScalarsKeepsTheRestAndResolvesTheBasePathsAgainstItsFolder() throws IOException {
    base();
    Recipe r = RecipeLoader.load(write("ref.pbtxt", """
        base_recipe: "base/small.pbtxt"
        name: "ref"
        training { steps: 40 }
        schedule { warmup_steps: 8 }
        """), List.of());
    assertEquals("ref", r.getName());
    assertEquals(40, r.getTraining().getSteps(), "the refinement's value");
    assertEquals(8, r.getSchedule().getWarmupSteps());
    // siblings of a refined field come from the base, field by field
    assertEquals(8, r.getTraining().getBatchSize());
    assertEquals(3L, r.getTraining().getSeed());
    assertEquals(1e-3, r.getSchedule().getBaseLr(), 1e-9);
    assertEquals(16, r.getCcvit().getTokenizer().getNumCentroids());
    assertEquals(2, r.getData().getViewCount());
    // the base's relative data path names a file beside the base, not beside the refinement
    assertEquals(dir.resolve("base/train.gz").toString(), r.getData().getSource().getPath());
    assertEquals("runs/ref", r.getTraining().getRunDir(), "derived values follow the refined name");
    assertTrue(r.getBaseRecipe().isEmpty(), "the loaded recipe is whole: saved, it reloads without its base");
  }

  @Test
  void aListTheRefinementStatesReplacesTheBasesListWhole() throws IOException {
    base();
    Recipe r = RecipeLoader.load(write("ref.pbtxt", """
        base_recipe: "base/small.pbtxt"
        name: "ref"
        data { view { name: "only" } }
        """), List.of());
    assertEquals(1, r.getData().getViewCount(), "protobuf's merge would append and give 3 views");
    assertEquals("only", r.getData().getView(0).getName());
    assertTrue(r.getData().hasSource(), "the data section's other fields stay the base's");
  }

  @Test
  void overridesApplyAfterTheRefinementAndChainsWork() throws IOException {
    base();
    write("mid.pbtxt", "base_recipe: \"base/small.pbtxt\"\nname: \"mid\"\ntraining { steps: 40 }\n");
    Recipe r = RecipeLoader.load(write("top.pbtxt", "base_recipe: \"mid.pbtxt\"\nname: \"top\"\n"
        + "schedule { warmup_steps: 6 }\n"), List.of("training.steps=50"));
    assertEquals(50, r.getTraining().getSteps());
    assertEquals(6, r.getSchedule().getWarmupSteps());
    assertEquals("top", r.getName());
  }

  @Test
  void aMissingBaseOrACycleNamesTheFieldAndThePath() throws IOException {
    Path ref = write("ref.pbtxt", "base_recipe: \"nope.pbtxt\"\nname: \"ref\"\n");
    RecipeException e = assertThrows(RecipeException.class, () -> RecipeLoader.load(ref, List.of()));
    assertTrue(e.getMessage().contains("base_recipe") && e.getMessage().contains("nope.pbtxt"), e.getMessage());
    write("x.pbtxt", "base_recipe: \"y.pbtxt\"\nname: \"x\"\n");
    Path y = write("y.pbtxt", "base_recipe: \"x.pbtxt\"\nname: \"y\"\n");
    RecipeException c = assertThrows(RecipeException.class, () -> RecipeLoader.load(y, List.of()));
    assertTrue(c.getMessage().contains("cycle"), c.getMessage());
  }
}
