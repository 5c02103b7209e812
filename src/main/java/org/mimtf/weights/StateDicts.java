package org.mimtf.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.data.BadInputException;

/**
 * Reads a PyTorch state dict from the two formats weights are published in — {@code safetensors}
 * (timm, Hugging Face) and {@code torch.save}'s zip ({@code .pth}/{@code .pt}, the official BEiT,
 * MAE, CCViT and MOCA releases) — and unwraps it as those repositories save it: a training checkpoint
 * whose weights sit under {@code model}, {@code module} or {@code state_dict}, and names prefixed by
 * {@code module.} (DistributedDataParallel), {@code student.} or {@code encoder.}.
 */
public final class StateDicts {
  /** Keys of a checkpoint dict that hold the weights, tried in this order. */
  public static final List<String> WRAPPERS = List.of("model", "module", "state_dict");
  /** Name prefixes removed from every key (repeatedly: {@code module.encoder.blocks.0...}). */
  public static final List<String> PREFIXES = List.of("module.", "student.", "encoder.");

  private StateDicts() {}

  /**
   * A state dict: tensors by PyTorch name, what was unwrapped and stripped to get there, and the
   * non-tensor entries that were skipped.
   */
  public record StateDict(Map<String, TensorData> tensors, String wrapper, List<String> strippedPrefixes,
      List<String> skippedEntries) {}

  /**
   * Reads {@code file} ({@code safetensors} or a {@code torch.save} zip, told apart by content);
   * {@code key} picks the wrapper entry, or null to try {@link #WRAPPERS}.
   */
  public static StateDict read(Path file, String key) {
    if (!Files.isRegularFile(file)) {
      throw new BadInputException(file.toString(), "no such file");
    }
    byte[] head = new byte[4];
    try (InputStream in = Files.newInputStream(file)) {
      int n = in.readNBytes(head, 0, 4);
      if (n < 4) {
        throw new BadInputException(file.toString(), "not a safetensors file nor a PyTorch checkpoint: " + n
            + " bytes");
      }
    } catch (IOException e) {
      throw new BadInputException(file.toString(), "cannot read: " + e.getMessage(), e);
    }
    boolean zip = head[0] == 'P' && head[1] == 'K';
    if (zip) {
      return unwrap(file, TorchPickle.read(file), key);
    }
    if (head[0] == (byte) 0x80 && (head[1] >= 2 && head[1] <= 5)) {
      throw new BadInputException(file.toString(), "a bare pickle (torch.save before PyTorch 1.6, or "
          + "_use_new_zipfile_serialization=False): re-save it with torch>=1.6 or as safetensors");
    }
    Map<String, TensorData> t = Safetensors.read(file).tensors();
    if (key != null) {
      throw new BadInputException(file.toString(), "--key " + key + " applies to .pth checkpoints; a safetensors "
          + "file is a flat state dict");
    }
    return strip(file, new LinkedHashMap<>(t), "", new ArrayList<>());
  }

  private static StateDict unwrap(Path file, Object root, String key) {
    if (!(root instanceof Map<?, ?> top)) {
      throw new BadInputException(file.toString(), "the pickle holds a " + root.getClass().getSimpleName()
          + ", not a dict of tensors (a whole pickled nn.Module cannot be read; save its state_dict())");
    }
    Map<?, ?> dict = top;
    String wrapper = "";
    if (key != null) {
      Object inner = top.get(key);
      if (!(inner instanceof Map<?, ?> m)) {
        throw new BadInputException(file.toString(), "no dict under key '" + key + "'; top-level keys: "
            + top.keySet());
      }
      dict = m;
      wrapper = key;
    } else if (top.values().stream().noneMatch(v -> v instanceof TensorData)) {
      for (String w : WRAPPERS) {
        if (top.get(w) instanceof Map<?, ?> m) {
          dict = m;
          wrapper = w;
          break;
        }
      }
    }
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    List<String> skipped = new ArrayList<>();
    for (var e : dict.entrySet()) {
      if (e.getValue() instanceof TensorData t) {
        tensors.put(e.getKey().toString(), t);
      } else {
        skipped.add(e.getKey().toString());
      }
    }
    if (tensors.isEmpty()) {
      throw new BadInputException(file.toString(), "no tensors found" + (wrapper.isEmpty() ? "" : " under '" + wrapper
          + "'") + "; top-level keys: " + top.keySet() + " (pick one with --key)");
    }
    return strip(file, tensors, wrapper, skipped);
  }

  private static StateDict strip(Path file, Map<String, TensorData> in, String wrapper, List<String> skipped) {
    Map<String, TensorData> out = new LinkedHashMap<>();
    List<String> stripped = new ArrayList<>();
    for (var e : in.entrySet()) {
      String name = e.getKey();
      boolean again = true;
      while (again) {
        again = false;
        for (String p : PREFIXES) {
          if (name.startsWith(p)) {
            name = name.substring(p.length());
            if (!stripped.contains(p)) {
              stripped.add(p);
            }
            again = true;
          }
        }
      }
      if (out.put(name, e.getValue()) != null) {
        throw new BadInputException(file.toString(), "two tensors become '" + name + "' once the prefixes " + PREFIXES
            + " are removed; pick one part with --key");
      }
    }
    return new StateDict(out, wrapper, stripped, skipped);
  }
}
