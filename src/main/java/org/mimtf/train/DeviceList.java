package org.mimtf.train;

import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteDeviceList;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListCount;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListMemoryBytes;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListName;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListType;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_SessionListDevices;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.internal.c_api.TF_DeviceList;
import org.tensorflow.internal.c_api.TF_Session;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.proto.ConfigProto;

/**
 * The devices a TensorFlow session sees (name, type, memory), through the C API's
 * {@code TF_SessionListDevices}: TF Java 1.0 has no public call for it, so the session's native
 * handle is read reflectively. Used by {@code mimtf doctor}.
 */
public final class DeviceList {
  /** One device. */
  public record Device(String name, String type, long memoryBytes) {}

  private DeviceList() {}

  public static List<Device> list(ConfigProto config) {
    List<Device> out = new ArrayList<>();
    try (Graph g = new Graph(); Session s = new Session(g, config)) {
      Field f = Session.class.getDeclaredField("nativeHandle");
      f.setAccessible(true);
      TF_Session handle = (TF_Session) f.get(s);
      try (TF_Status status = TF_Status.newStatus()) {
        TF_DeviceList list = TF_SessionListDevices(handle, status);
        status.throwExceptionIfNotOK();
        try {
          for (int i = 0; i < TF_DeviceListCount(list); i++) {
            String name = TF_DeviceListName(list, i, status).getString();
            String type = TF_DeviceListType(list, i, status).getString();
            long mem = TF_DeviceListMemoryBytes(list, i, status);
            out.add(new Device(name, type, mem));
          }
        } finally {
          TF_DeleteDeviceList(list);
        }
      }
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot list devices with this TF Java version: " + e, e);
    }
    return out;
  }
}
