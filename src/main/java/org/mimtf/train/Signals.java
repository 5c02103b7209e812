package org.mimtf.train;

import java.util.ArrayList;
import java.util.List;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Turns SIGINT and SIGTERM into a stop request for the training loop, so that an interrupted run
 * writes a checkpoint and exits cleanly instead of dying mid-step. A second signal while the first is
 * being handled exits at once (the previous handler runs).
 *
 * <p>A process started with a signal ignored (a script's background job inherits an ignored SIGINT;
 * {@code nohup} ignores SIGHUP) keeps it ignored: the JVM honours that and installs no handler, so the
 * run says so once at start and names the signal that still stops it, rather than leaving the user to
 * find out when Ctrl-C or {@code kill -INT} does nothing.
 */
final class Signals {
  private Signals() {}

  private static boolean warned;

  /** Installed handlers; {@link #restore} puts the previous ones back. */
  interface Handle {
    void restore();
  }

  static Handle install(Runnable onSignal) {
    List<Signal> signals = new ArrayList<>();
    List<SignalHandler> previous = new ArrayList<>();
    List<String> ignored = new ArrayList<>();
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        Signal sig = new Signal(name);
        SignalHandler[] prev = new SignalHandler[1];
        boolean[] seen = {false};
        prev[0] = Signal.handle(sig, s -> {
          if (seen[0] && prev[0] != null && prev[0] != SignalHandler.SIG_IGN && prev[0] != SignalHandler.SIG_DFL) {
            prev[0].handle(s);
            return;
          }
          if (seen[0]) {
            Runtime.getRuntime().halt(130);
          }
          seen[0] = true;
          System.err.println("\nmimtf: SIG" + name + " received: finishing the step, writing a checkpoint, stopping"
              + " (send again to abort at once)");
          onSignal.run();
        });
        if (prev[0] == SignalHandler.SIG_IGN) {
          // the JVM did not install our handler (HotSpot leaves a signal ignored at start ignored)
          ignored.add(name);
          continue;
        }
        signals.add(sig);
        previous.add(prev[0]);
      } catch (IllegalArgumentException e) {
        // signal not available on this platform: nothing to install
      }
    }
    if (!ignored.isEmpty()) {
      warnIgnored(ignored);
    }
    return () -> {
      for (int i = 0; i < signals.size(); i++) {
        Signal.handle(signals.get(i), previous.get(i));
      }
    };
  }

  /**
   * The line printed when the signals {@code ignored} ({@code "INT"}, {@code "TERM"}) cannot stop this
   * run: it names the one that still can, with this pid, or says that none can.
   */
  static String ignoredWarning(List<String> ignored) {
    String names = String.join(" and ", ignored.stream().map(n -> "SIG" + n).toList());
    String why = "mimtf: " + names + (ignored.size() > 1 ? " are" : " is") + " ignored in this process (a background "
        + "job of a script, or nohup), so " + (ignored.size() > 1 ? "they" : "it") + " cannot stop this run; ";
    if (ignored.contains("INT") && ignored.contains("TERM")) {
      return why + "kill -KILL " + ProcessHandle.current().pid() + " stops it, losing the steps since the last "
          + "checkpoint";
    }
    String other = ignored.contains("INT") ? "TERM" : "INT";
    return why + "stop it with kill -" + other + " " + ProcessHandle.current().pid()
        + " (it finishes the step, writes a checkpoint and exits)";
  }

  private static synchronized void warnIgnored(List<String> ignored) {
    if (!warned) {
      warned = true;
      System.err.println(ignoredWarning(ignored));
    }
  }
}
