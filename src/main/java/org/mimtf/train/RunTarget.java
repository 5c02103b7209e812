package org.mimtf.train;

import java.util.List;
import org.mimtf.config.proto.TrainingConfig;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.proto.ConfigProto;

/**
 * Where a run's steps execute: this process ({@link #LOCAL}), or a TensorFlow cluster
 * ({@code org.mimtf.cluster.ClusterRunTarget}). It decides the towers' device names and opens the
 * session; the graph, the trainer, checkpoints and logs are the same either way.
 */
public interface RunTarget {
  /** The towers' TF device names for {@code training.devices}; empty: one tower, default placement. */
  List<String> towerDevices(TrainingConfig t);

  /** Opens the session the steps run in. */
  Session open(Graph g, TrainingConfig t, List<String> towerDevices);

  /** This process: {@link Devices#towers}, a plain {@link Session}. */
  RunTarget LOCAL = new RunTarget() {
    @Override
    public List<String> towerDevices(TrainingConfig t) {
      return Devices.towers(t.getDevices());
    }

    @Override
    public Session open(Graph g, TrainingConfig t, List<String> towerDevices) {
      return new Session(g, SessionConfigs.training(t, towerDevices));
    }
  };
}
