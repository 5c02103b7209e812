package org.mimtf.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;
import net.razorvine.pickle.objects.ClassDict;
import org.mimtf.data.BadInputException;

/**
 * Reads a {@code .pth}/{@code .pt} file as {@code torch.save} writes it since PyTorch 1.6: a zip with
 * {@code <name>/data.pkl} (a pickle whose tensors refer to their storages by persistent id
 * {@code ('storage', type, key, location, numel)}) and one raw little-endian file per storage,
 * {@code <name>/data/<key>}. The pickle is read by Razorvine's unpickler (a maintained library, not a
 * hand-written one); tensors ({@code torch._utils._rebuild_tensor_v2}) come back as {@link TensorData}
 * with their strides and offsets applied, {@code OrderedDict} as a map, and any other class (the
 * {@code argparse.Namespace} of the official BEiT checkpoints, NumPy scalars) as an inert
 * {@link ClassDict}, so the surrounding training state never blocks reading the weights.
 */
public final class TorchPickle {
  private TorchPickle() {}

  /** Element types of the storages, by the {@code torch.*Storage} class the pickle names. */
  private record StorageType(String dtype, int width) implements IObjectConstructor {
    @Override
    public Object construct(Object[] args) {
      throw new PickleException("torch storage classes are not constructed directly");
    }
  }

  private static final Map<String, StorageType> STORAGES = Map.of(
      "FloatStorage", new StorageType("F32", 4), "HalfStorage", new StorageType("F16", 2),
      "BFloat16Storage", new StorageType("BF16", 2), "DoubleStorage", new StorageType("F64", 8),
      "LongStorage", new StorageType("I64", 8), "IntStorage", new StorageType("I32", 4),
      "ByteStorage", new StorageType("U8", 1), "BoolStorage", new StorageType("BOOL", 1),
      "CharStorage", new StorageType("I8", 1), "ShortStorage", new StorageType("I16", 2));

  /** A storage resolved by persistent id: its element type and raw bytes. */
  private record Storage(StorageType type, ByteBuffer bytes) {}

  /** {@code OrderedDict} (state dicts carry {@code _metadata} as object state, which is dropped). */
  public static final class OrderedMap extends LinkedHashMap<Object, Object> {
    private static final long serialVersionUID = 1L;

    public void __setstate__(HashMap<?, ?> state) {}

    public void __setstate__(Object[] state) {}
  }

  /** Any class the reader does not know: its name, constructor arguments and state, kept inert. */
  public static final class Opaque extends ClassDict {
    private static final long serialVersionUID = 1L;

    Opaque(String module, String name) {
      super(module, name);
    }

    public void __setstate__(Object[] state) {}
  }

  /** The unpickled object of {@code file}: tensors as {@link TensorData}, dicts as maps. */
  public static Object read(Path file) {
    String origin = file.toString();
    ZipFile zip;
    try {
      zip = new ZipFile(file.toFile());
    } catch (ZipException e) {
      throw new BadInputException(origin, "starts like a zip but cannot be opened as one (truncated? torch.save "
          + "writes a zip since PyTorch 1.6): " + e.getMessage());
    } catch (IOException e) {
      throw new BadInputException(origin, "cannot read: " + e.getMessage(), e);
    }
    try (zip) {
      ZipEntry pkl = zip.stream().filter(e -> e.getName().endsWith("data.pkl")).findFirst()
          .orElseThrow(() -> new BadInputException(origin, "a zip without data.pkl: not a torch.save checkpoint"));
      String root = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
      Reader r = new Reader(zip, root, origin);
      try (InputStream in = zip.getInputStream(pkl)) {
        return r.load(in);
      } catch (PickleException e) {
        throw new BadInputException(origin, "cannot unpickle " + pkl.getName() + ": " + e.getMessage(), e);
      }
    } catch (IOException e) {
      throw new BadInputException(origin, "cannot read (truncated or corrupt zip?): " + e.getMessage(), e);
    }
  }

  private static final class Reader extends Unpickler {
    private final ZipFile zip;
    private final String root;
    private final String origin;
    private final Map<String, ByteBuffer> loaded = new HashMap<>();

    Reader(ZipFile zip, String root, String origin) {
      this.zip = zip;
      this.root = root;
      this.origin = origin;
    }

    @Override
    protected Object dispatch(short key) throws PickleException, IOException {
      if (key == Opcodes.GLOBAL) {
        String module = PickleUtils.readline(input);
        String name = PickleUtils.readline(input);
        stack.add(constructor(module, name));
        return NO_RETURN_VALUE;
      }
      if (key == Opcodes.STACK_GLOBAL) {
        String name = (String) stack.pop();
        String module = (String) stack.pop();
        stack.add(constructor(module, name));
        return NO_RETURN_VALUE;
      }
      return super.dispatch(key);
    }

    private IObjectConstructor constructor(String module, String name) {
      if (module.equals("torch") && STORAGES.containsKey(name)) {
        return STORAGES.get(name);
      }
      String full = module + "." + name;
      return switch (full) {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> this::rebuildTensor;
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> args -> args[0];
        case "collections.OrderedDict" -> args -> new OrderedMap();
        default -> args -> new Opaque(module, name);
      };
    }

    @Override
    protected Object persistentLoad(Object pid) {
      Object[] t = (Object[]) pid;
      if (t.length < 5 || !"storage".equals(t[0]) || !(t[1] instanceof StorageType type)) {
        throw new PickleException("unknown persistent id " + java.util.Arrays.deepToString(t));
      }
      String key = t[2].toString();
      ByteBuffer b = loaded.computeIfAbsent(key, k -> readStorage(k));
      long numel = ((Number) t[4]).longValue();
      if (b.capacity() < numel * type.width()) {
        throw new BadInputException(origin, "storage " + key + " holds " + b.capacity() + " bytes, the pickle expects "
            + numel * type.width() + " (truncated file?)");
      }
      return new Storage(type, b);
    }

    private ByteBuffer readStorage(String key) {
      ZipEntry e = zip.getEntry(root + "data/" + key);
      if (e == null) {
        throw new BadInputException(origin, "storage " + root + "data/" + key + " is missing from the zip");
      }
      try (InputStream in = zip.getInputStream(e)) {
        return ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
      } catch (IOException ex) {
        throw new BadInputException(origin, "cannot read storage " + e.getName() + ": " + ex.getMessage(), ex);
      }
    }

    private Object rebuildTensor(Object[] args) {
      Storage s = (Storage) args[0];
      long offset = ((Number) args[1]).longValue();
      long[] size = longs(args[2]);
      long[] stride = longs(args[3]);
      long n = TensorData.count(size);
      float[] out = new float[(int) n];
      long[] idx = new long[size.length];
      for (int i = 0; i < n; i++) {
        long at = offset;
        for (int d = 0; d < size.length; d++) {
          at += idx[d] * stride[d];
        }
        out[i] = element(s, at);
        for (int d = size.length - 1; d >= 0; d--) {
          if (++idx[d] < size[d]) {
            break;
          }
          idx[d] = 0;
        }
      }
      return new TensorData(size, out);
    }

    private float element(Storage s, long at) {
      ByteBuffer b = s.bytes();
      int pos = (int) (at * s.type().width());
      return switch (s.type().dtype()) {
        case "F32" -> b.getFloat(pos);
        case "F64" -> (float) b.getDouble(pos);
        case "F16" -> Safetensors.halfToFloat(b.getShort(pos));
        case "BF16" -> Float.intBitsToFloat((b.getShort(pos) & 0xffff) << 16);
        case "I64" -> (float) b.getLong(pos);
        case "I32" -> (float) b.getInt(pos);
        case "I16" -> (float) b.getShort(pos);
        case "I8" -> (float) b.get(pos);
        default -> (float) (b.get(pos) & 0xff);
      };
    }

    private static long[] longs(Object tuple) {
      Object[] t = (Object[]) tuple;
      long[] out = new long[t.length];
      for (int i = 0; i < t.length; i++) {
        out[i] = ((Number) t[i]).longValue();
      }
      return out;
    }
  }
}
