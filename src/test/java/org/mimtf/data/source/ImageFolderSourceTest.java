package org.mimtf.data.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.data.BadInputException;
import org.mimtf.data.TestData;

class ImageFolderSourceTest {
  @TempDir Path tmp;

  @Test
  void fixtureClassesAreSortedFolderNamesAndFilesAreSorted() {
    ImageFolderSource s = ImageFolderSource.open(TestData.IMAGES);
    assertEquals(List.of("bag", "sneaker", "trouser"), s.classNames());
    assertEquals(3, s.numClasses());
    assertEquals(12, s.size());
    List<String> names = new ArrayList<>();
    int[] labels = new int[12];
    for (int i = 0; i < 12; i++) {
      Record r = s.read(i);
      names.add(TestData.IMAGES.relativize(Path.of(r.origin())).toString());
      labels[i] = r.label();
      assertNull(r.pixels());
      assertArrayEquals(TestData.bytes(s.file(i)), r.encoded());
      assertEquals(i, r.index());
    }
    assertEquals(
        List.of(
            "bag/bag-00-rgb-baseline.jpg",
            "bag/bag-01-gray.jpg",
            "bag/bag-02-progressive.jpg",
            "bag/bag-03-cmyk.jpg",
            "sneaker/sneaker-00-palette.png",
            "sneaker/sneaker-01-rgba.png",
            "sneaker/sneaker-02-gray16.png",
            "sneaker/sneaker-03-gray.png",
            "trouser/trouser-00-40x23.jpg",
            "trouser/trouser-01-anim.gif",
            "trouser/trouser-02-17x31.bmp",
            "trouser/trouser-03-rgb16-57x19.png"),
        names);
    assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, labels);
  }

  @Test
  void filesAreChosenByContentAndHiddenOnesAreIgnored() throws IOException {
    byte[] png = TestData.bytes(TestData.image("sneaker/sneaker-03-gray.png"));
    byte[] jpg = TestData.bytes(TestData.image("bag/bag-01-gray.jpg"));
    Path cats = Files.createDirectories(tmp.resolve("cats"));
    Path dogs = Files.createDirectories(tmp.resolve("dogs/nested"));
    Files.createDirectories(tmp.resolve(".git"));
    Files.write(tmp.resolve(".git/img.png"), png); // hidden class folder
    Files.write(cats.resolve("b.JPEG"), jpg); // upper-case extension
    Files.write(cats.resolve("a.jpg"), png); // a PNG named .jpg
    Files.write(cats.resolve("noext"), jpg); // no extension
    Files.write(cats.resolve("._a.jpg"), jpg); // macOS resource fork: hidden
    Files.writeString(cats.resolve("notes.txt"), "not an image");
    Files.writeString(cats.resolve("BM-notes.bmp"), "BM but not a bitmap header");
    Files.write(dogs.resolve("deep.png"), png); // nested below the class folder
    Files.createDirectories(tmp.resolve("dogs/.cache"));
    Files.write(tmp.resolve("dogs/.cache/x.png"), png); // hidden folder inside a class
    Files.write(tmp.resolve("stray.png"), png); // not in a class folder

    ImageFolderSource s = ImageFolderSource.open(tmp);
    assertEquals(List.of("cats", "dogs"), s.classNames());
    List<String> got = new ArrayList<>();
    for (int i = 0; i < s.size(); i++) {
      got.add(tmp.relativize(s.file(i)) + "=" + s.read(i).label());
    }
    assertEquals(
        List.of("cats/a.jpg=0", "cats/b.JPEG=0", "cats/noext=0", "dogs/nested/deep.png=1"), got);
  }

  @Test
  void missingRootIsNamed() {
    Path missing = tmp.resolve("no/such/folder");
    BadInputException e =
        assertThrows(BadInputException.class, () -> ImageFolderSource.open(missing));
    assertEquals(
        missing + ": does not exist (expected a folder root/<class>/<images>)", e.getMessage());
  }

  @Test
  void rootWithoutClassFoldersIsExplained() throws IOException {
    Files.write(
        tmp.resolve("a.png"), TestData.bytes(TestData.image("sneaker/sneaker-03-gray.png")));
    BadInputException e = assertThrows(BadInputException.class, () -> ImageFolderSource.open(tmp));
    assertEquals(
        tmp + ": has no class sub-folders (expected root/<class>/<images>, one folder per class)",
        e.getMessage());
  }

  @Test
  void classFoldersWithoutImagesAreAnError() throws IOException {
    Files.createDirectories(tmp.resolve("a"));
    Files.writeString(tmp.resolve("a/readme.txt"), "x");
    BadInputException e = assertThrows(BadInputException.class, () -> ImageFolderSource.open(tmp));
    assertEquals(
        tmp + ": no JPEG, PNG, GIF or BMP files in its 1 class sub-folders", e.getMessage());
  }

  @Test
  void fileDeletedAfterOpeningIsBadInputNamingIt() throws IOException {
    Path cls = Files.createDirectories(tmp.resolve("c"));
    Path f = cls.resolve("x.png");
    Files.write(f, TestData.bytes(TestData.image("sneaker/sneaker-03-gray.png")));
    ImageFolderSource s = ImageFolderSource.open(tmp);
    Files.delete(f);
    BadInputException e = assertThrows(BadInputException.class, () -> s.read(0));
    assertEquals(f.toString(), e.origin());
  }
}
