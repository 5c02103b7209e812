package org.mimtf.cluster;

import static org.tensorflow.internal.c_api.global.tensorflow.TF_SetConfig;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_SetTarget;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.internal.c_api.TF_Graph;
import org.tensorflow.internal.c_api.TF_Session;
import org.tensorflow.internal.c_api.TF_SessionOptions;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.proto.ConfigProto;

/**
 * A TF Java {@link Session} whose steps run on a cluster ({@code grpc://host:port}). TF Java 1.0's
 * public constructors pass no target to the C API (its private {@code allocate} has a target
 * parameter but the constructors give it null), so the native session is made here through the C API
 * TF Java bundles ({@code TF_NewSessionOptions}, {@code TF_SetTarget}, {@code TF_SetConfig},
 * {@code TF_NewSession}) and handed to Session's package-private {@code Session(Graph, TF_Session)}
 * constructor by reflection. The result is an ordinary Session: runners, {@code save}/{@code restore}
 * (the checkpoint is written by the task that holds the variables, the chief), run metadata.
 *
 * <p>That constructor makes a session with autoInit off: run {@link Session#initialize()} or
 * {@link Session#restore} before the first step (the trainer does).
 */
public final class ClusterSessions {
  private ClusterSessions() {}

  /** Opens a session on {@code graph} whose master is {@code target}. */
  public static Session open(Graph graph, String target, ConfigProto config) {
    TF_Graph graphHandle;
    Constructor<Session> wrap;
    try {
      Field f = Graph.class.getDeclaredField("nativeHandle");
      f.setAccessible(true);
      graphHandle = (TF_Graph) f.get(graph);
      wrap = Session.class.getDeclaredConstructor(Graph.class, TF_Session.class);
      wrap.setAccessible(true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("this TF Java version has no Session(Graph, TF_Session) constructor or "
          + "Graph.nativeHandle field, which cluster sessions need (written for TF Java 1.0): " + e, e);
    }
    if (graphHandle == null || graphHandle.isNull()) {
      throw new IllegalStateException("the graph is closed");
    }
    TF_Session handle;
    try (PointerScope scope = new PointerScope()) {
      TF_Status status = TF_Status.newStatus();
      TF_SessionOptions opts = TF_SessionOptions.newSessionOptions();
      TF_SetTarget(opts, target);
      BytePointer cfg = new BytePointer(config.toByteArray());
      TF_SetConfig(opts, cfg, cfg.capacity(), status);
      status.throwExceptionIfNotOK();
      TF_Session s = TF_Session.newSession(graphHandle, opts, status);
      status.throwExceptionIfNotOK();
      // Outlive the scope; Session.close() releases this reference (closing the native session).
      handle = (TF_Session) s.retainReference();
    }
    try {
      return wrap.newInstance(graph, handle);
    } catch (ReflectiveOperationException e) {
      handle.releaseReference();
      throw new IllegalStateException("cannot wrap the cluster session: " + e, e);
    }
  }
}
