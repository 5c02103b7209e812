package org.mimtf.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tensorflow.Session;

/**
 * The checkpoints of a run, in TensorFlow's own V2 format ({@code ckpt-<step>.index} +
 * {@code ckpt-<step>.data-00000-of-00001}) so that Python's {@code tf.train.load_checkpoint} and
 * {@code tf.train.latest_checkpoint} read them.
 *
 * <p>Never lose work: each checkpoint goes to a fresh prefix (TF writes the data file, then the
 * index, each to a temporary name renamed into place), and only then does the {@code checkpoint}
 * state file, written to a temporary file and atomically renamed, point to it. A crash at any moment
 * leaves the previous checkpoint intact and referenced. The last {@code keep} are kept.
 */
public final class Checkpoints {
  private static final Pattern ENTRY = Pattern.compile("^(model_checkpoint_path|all_model_checkpoint_paths):\\s*\"(.*)\"\\s*$");
  private final Path dir;
  private final int keep;

  public Checkpoints(Path dir, int keep) {
    checkArgument(keep >= 1, "keep (%s) must be >= 1", keep);
    this.dir = dir;
    this.keep = keep;
  }

  public Path dir() {
    return dir;
  }

  /** Prefix (path without extension) of the checkpoint of {@code step}. */
  public Path prefix(long step) {
    return dir.resolve("ckpt-" + step);
  }

  /** Saves every variable of {@code session}'s graph as step {@code step}; returns its prefix. */
  public Path save(Session session, long step) {
    try {
      Files.createDirectories(dir);
      Path prefix = prefix(step);
      session.save(prefix.toString());
      List<String> all = new ArrayList<>(list());
      String name = prefix.getFileName().toString();
      all.remove(name);
      all.add(name);
      List<String> kept = all.subList(Math.max(0, all.size() - keep), all.size());
      writeState(name, kept);
      for (String old : all.subList(0, all.size() - kept.size())) {
        delete(old);
      }
      return prefix;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The newest complete checkpoint's prefix, if any. */
  public Optional<Path> latest() {
    Path state = dir.resolve("checkpoint");
    if (!Files.exists(state)) {
      return Optional.empty();
    }
    try {
      for (String line : Files.readAllLines(state, StandardCharsets.UTF_8)) {
        Matcher m = ENTRY.matcher(line.trim());
        if (m.matches() && m.group(1).equals("model_checkpoint_path")) {
          Path p = dir.resolve(m.group(2));
          if (Files.exists(Path.of(p + ".index"))) {
            return Optional.of(p);
          }
        }
      }
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + state + ": " + e.getMessage(), e);
    }
  }

  /** Step number encoded in a prefix {@code ckpt-<step>}. */
  public static long stepOf(Path prefix) {
    String n = prefix.getFileName().toString();
    checkArgument(n.startsWith("ckpt-"), "not a checkpoint prefix: %s", prefix);
    return Long.parseLong(n.substring(5));
  }

  /** Names of the checkpoints listed in the state file, oldest first. */
  private List<String> list() throws IOException {
    List<String> out = new ArrayList<>();
    Path state = dir.resolve("checkpoint");
    if (Files.exists(state)) {
      for (String line : Files.readAllLines(state, StandardCharsets.UTF_8)) {
        Matcher m = ENTRY.matcher(line.trim());
        if (m.matches() && m.group(1).equals("all_model_checkpoint_paths") && !out.contains(m.group(2))) {
          out.add(m.group(2));
        }
      }
    }
    return out;
  }

  private void writeState(String latest, List<String> all) throws IOException {
    StringBuilder sb = new StringBuilder();
    sb.append("model_checkpoint_path: \"").append(latest).append("\"\n");
    for (String a : all) {
      sb.append("all_model_checkpoint_paths: \"").append(a).append("\"\n");
    }
    writeAtomically(dir.resolve("checkpoint"), sb.toString());
  }

  /** Writes {@code text} to {@code target} through a temporary file and an atomic rename. */
  public static void writeAtomically(Path target, String text) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private void delete(String name) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, name + ".*")) {
      for (Path p : ds) {
        Files.deleteIfExists(p);
      }
    }
  }
}
