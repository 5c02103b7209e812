package org.mimtf.train;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;

/**
 * Puts a built step on devices by rewriting its GraphDef: with N devices tower i's ops (under
 * {@code tower_<i>/}) and the backward of the ops they read go to device i, everything else (the
 * variables, the tower average, the update) stays where TensorFlow puts it. TF Java cannot place the
 * ops {@code tf.gradients} adds (the C API has no device for them), so the step is built in a scratch
 * graph, placed here, and imported into the graph the session runs ({@link StepGraph}). Training on
 * several machines extends this rewrite (a {@code /job:} per device).
 */
public final class DevicePlacement {
  private DevicePlacement() {}

  /**
   * Assigns device i to every node under {@code tower_<i>/} that has none. Nodes of the one gradient
   * of a method that couples its towers ({@code coupled_gradients/}, named without any trace of the
   * forward op they differentiate) take the device of the first input that has a tower device: the
   * backward of tower i's ops then runs where their forward ran (Python TF's
   * colocate_gradients_with_ops, approximated by data flow).
   */
  public static GraphDef place(GraphDef gd, List<String> devices) {
    GraphDef.Builder b = gd.toBuilder();
    Map<String, String> deviceOf = new HashMap<>();
    for (int n = 0; n < b.getNodeCount(); n++) {
      NodeDef node = b.getNode(n);
      if (node.getDevice().isEmpty()) {
        for (int i = 0; i < devices.size(); i++) {
          if (node.getName().startsWith(towerScope(i) + "/")) {
            node = node.toBuilder().setDevice(devices.get(i)).build();
            b.setNode(n, node);
            break;
          }
        }
      }
      deviceOf.put(node.getName(), node.getDevice());
    }
    Set<String> towerDevices = new HashSet<>(devices);
    // Nodes come in creation order, which is topological; a second pass would catch stragglers.
    for (int pass = 0; pass < 2; pass++) {
      boolean changed = false;
      for (int n = 0; n < b.getNodeCount(); n++) {
        NodeDef node = b.getNode(n);
        if (!node.getDevice().isEmpty() || !node.getName().startsWith(COUPLED_GRADIENTS + "/")) {
          continue;
        }
        for (String in : node.getInputList()) {
          if (in.startsWith("^")) {
            continue;
          }
          int colon = in.indexOf(':');
          String d = deviceOf.getOrDefault(colon < 0 ? in : in.substring(0, colon), "");
          if (towerDevices.contains(d)) {
            b.setNode(n, node.toBuilder().setDevice(d));
            deviceOf.put(node.getName(), d);
            changed = true;
            break;
          }
        }
      }
      if (!changed) {
        break;
      }
    }
    return b.build();
  }

  /** Name scope of the single gradient computation of methods that couple their towers. */
  static final String COUPLED_GRADIENTS = "coupled_gradients";

  static String towerScope(int i) {
    return "tower_" + i;
  }

}
