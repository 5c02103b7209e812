package org.mimtf.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.util.UserException;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

class SavedModelInfoTest {
  @TempDir static Path shared;
  @TempDir Path dir;
  static Path model;

  @BeforeAll
  static void exportOnce() {
    model = TinyModel.export(shared.resolve("tiny"));
  }

  @Test
  void readsTheSignatureOfAnExportedModel() {
    SavedModelInfo info = SavedModelInfo.read(model);
    assertEquals(model, info.dir());
    assertTrue(info.version().isEmpty());
    assertEquals(1, info.metaGraphs().size());
    SavedModelInfo.MetaGraph mg = info.metaGraph("serve").orElseThrow();
    assertEquals(List.of("serve"), mg.tags());
    assertEquals(List.of("serving_default"), List.copyOf(mg.signatures().keySet()));
    SavedModelInfo.Signature sig = mg.signature("serving_default").orElseThrow();
    assertEquals("tensorflow/serving/predict", sig.methodName());
    SavedModelInfo.TensorSpec in = sig.inputs().get("images");
    assertEquals("DT_FLOAT", in.dtype());
    assertEquals(List.of(-1L, 4L, 4L, 1L), in.dims());
    assertEquals("(-1, 4, 4, 1)", in.shapeString());
    assertEquals("x:0", in.name());
    assertEquals(List.of("cls"), List.copyOf(sig.outputs().keySet()));
    assertEquals("y:0", sig.outputs().get("cls").name());
    assertEquals("(-1, 3)", sig.outputs().get("cls").shapeString());
    assertEquals(List.of(new CheckpointIndex.Entry("enc/w", "DT_FLOAT", List.of(16L, 3L))), info.variables());
    assertTrue(info.metaGraph("serve", "gpu").isEmpty());
  }

  @Test
  void formatsLikeSavedModelCli() {
    String expected = """

        MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:

        signature_def['serving_default']:
          The given SavedModel SignatureDef contains the following input(s):
            inputs['images'] tensor_info:
                dtype: DT_FLOAT
                shape: (-1, 4, 4, 1)
                name: x:0
          The given SavedModel SignatureDef contains the following output(s):
            outputs['cls'] tensor_info:
                dtype: DT_FLOAT
                shape: (-1, 3)
                name: y:0
          Method name is: tensorflow/serving/predict

        Variables in variables/variables.index: 1
          enc/w: DT_FLOAT (16, 3)
        """;
    assertEquals(expected, SavedModelInfo.read(model).format());
  }

  @Test
  void picksTheHighestNumericVersionAndSaysSo() throws IOException {
    Path name = dir.resolve("teacher");
    for (String v : List.of("1", "2", "10")) {
      copyTree(model, name.resolve(v));
    }
    Files.createDirectories(name.resolve("99")); // empty: not a usable version
    copyTree(model, name.resolve("999.tmp")); // not numeric
    SavedModelInfo info = SavedModelInfo.read(name);
    assertEquals("10", info.version().orElseThrow());
    assertEquals(name.resolve("10"), info.dir());
    assertTrue(info.format().startsWith("Using version 10 of " + name + " (the highest of 1, 2, 10)\n"),
        info.format());
    assertTrue(info.summary().toString().contains("\"version\":\"10\""), info.summary().toString());
  }

  @Test
  void acceptsTheSavedModelFileItself() {
    assertEquals(model.toAbsolutePath(), SavedModelInfo.read(model.resolve("saved_model.pb")).dir());
  }

  @Test
  void missingDirectoryNamesThePathAndWhatWasExpected() {
    Path missing = dir.resolve("nope");
    UserException e = assertThrows(UserException.class, () -> SavedModelInfo.read(missing));
    assertTrue(e.getMessage().startsWith(missing + ": no such file or directory"), e.getMessage());
    assertTrue(e.getMessage().contains("expected a SavedModel directory containing saved_model.pb"), e.getMessage());
  }

  @Test
  void directoryWithoutModelIsRejected() throws IOException {
    Files.createDirectories(dir.resolve("3"));
    UserException e = assertThrows(UserException.class, () -> SavedModelInfo.read(dir));
    assertTrue(e.getMessage().startsWith(dir + ": not a SavedModel: it has no saved_model.pb, and its version "
        + "folders 3 have none either"), e.getMessage());
    Path empty = Files.createDirectories(dir.resolve("empty"));
    e = assertThrows(UserException.class, () -> SavedModelInfo.read(empty));
    assertTrue(e.getMessage().contains("it has neither saved_model.pb nor a numbered version subfolder"),
        e.getMessage());
  }

  @Test
  void corruptProtobufIsRejected() throws IOException {
    Path bad = Files.createDirectories(dir.resolve("bad"));
    Files.write(bad.resolve("saved_model.pb"), new byte[] {(byte) 0xff, (byte) 0xff, 0x01, 0x02, 0x03});
    UserException e = assertThrows(UserException.class, () -> SavedModelInfo.read(bad));
    assertTrue(e.getMessage().startsWith(bad.resolve("saved_model.pb") + ": not a SavedModel protobuf"),
        e.getMessage());
  }

  @Test
  void printsUnknownRankScalarsAndSortsTagSetsAndKeys() throws IOException {
    TensorInfo unknown = TensorInfo.newBuilder().setName("a:0").setDtype(DataType.DT_STRING)
        .setTensorShape(TensorShapeProto.newBuilder().setUnknownRank(true)).build();
    TensorInfo scalar = TensorInfo.newBuilder().setName("b:0").setDtype(DataType.DT_INT64)
        .setTensorShape(TensorShapeProto.newBuilder()).build();
    TensorInfo vector = TensorInfo.newBuilder().setName("c:0").setDtype(DataType.DT_HALF)
        .setTensorShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dim.newBuilder().setSize(5))).build();
    SignatureDef sig = SignatureDef.newBuilder().setMethodName("m").putInputs("z", unknown).putInputs("a", scalar)
        .putOutputs("v", vector).build();
    SavedModel sm = SavedModel.newBuilder()
        .addMetaGraphs(MetaGraphDef.newBuilder().setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder()
            .addTags("serve").addTags("gpu")).putSignatureDef("y", sig).putSignatureDef("x", sig))
        .addMetaGraphs(MetaGraphDef.newBuilder().setMetaInfoDef(MetaGraphDef.MetaInfoDef.newBuilder()
            .addTags("serve")).putSignatureDef("only", sig))
        .build();
    Files.write(dir.resolve("saved_model.pb"), sm.toByteArray());
    SavedModelInfo info = SavedModelInfo.read(dir);
    assertTrue(info.metaGraph("gpu", "serve").isPresent());
    String text = info.format();
    // Python sorts the tag lists: ['serve'] < ['serve', 'gpu']; signature and tensor keys sorted too.
    assertTrue(text.indexOf("tag-set: 'serve' ") < text.indexOf("tag-set: 'serve, gpu' "), text);
    assertTrue(text.indexOf("signature_def['x']") < text.indexOf("signature_def['y']"), text);
    assertTrue(text.contains("""
            inputs['a'] tensor_info:
                dtype: DT_INT64
                shape: ()
                name: b:0
            inputs['z'] tensor_info:
                dtype: DT_STRING
                shape: unknown_rank
                name: a:0
        """), text);
    assertTrue(text.contains("shape: (5)\n"), text);
    assertTrue(text.endsWith("Variables in variables/variables.index: none\n"), text);
    assertTrue(info.summary().toString().contains("\"z\":{\"dtype\":\"DT_STRING\",\"shape\":null,\"name\":\"a:0\"}"),
        info.summary().toString());
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
