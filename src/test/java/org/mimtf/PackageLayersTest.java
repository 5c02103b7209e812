package org.mimtf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package structure, read from the compiled classes with {@code jdeps}: no cycles among
 * mimtf's packages, and the methods' contract holds (the trainer and the shared layers below the
 * methods name no method, only the contract {@code api}; {@code api} names no method, trainer or
 * export; a method's package names no other method, nor the registry, config or commands above it).
 */
class PackageLayersTest {
  private static final String ROOT = "org.mimtf.";
  private static final Set<String> METHODS = Set.of("ccvit", "beitv2", "conmim", "moca", "smr");
  private static Map<String, Set<String>> deps;

  @BeforeAll
  static void readDependencies() {
    Path classes = Path.of("target/classes");
    assertTrue(Files.isDirectory(classes.resolve("org/mimtf")), "compiled classes in " + classes.toAbsolutePath());
    ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow();
    StringWriter out = new StringWriter();
    int rc = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()), "-verbose:package", "-filter:none",
        "-e", "org\\.mimtf\\..*", classes.toString());
    assertEquals(0, rc, out.toString());
    deps = new TreeMap<>();
    for (String line : out.toString().split("\n")) {
      String[] p = line.trim().split("\\s+");
      if (p.length >= 3 && p[1].equals("->") && p[0].startsWith(ROOT) && p[2].startsWith(ROOT)
          && !p[0].equals(p[2])) {
        deps.computeIfAbsent(local(p[0]), k -> new TreeSet<>()).add(local(p[2]));
      }
    }
    assertTrue(deps.containsKey("train") && deps.containsKey("api"), "jdeps read nothing: " + deps.keySet());
  }

  private static String local(String pkg) {
    return pkg.substring(ROOT.length());
  }

  private static boolean isMethod(String pkg) {
    return pkg.startsWith("methods.") && METHODS.contains(pkg.substring("methods.".length()).split("\\.")[0]);
  }

  @Test
  void noCyclesAmongPackages() {
    List<List<String>> cycles = stronglyConnected();
    assertTrue(cycles.isEmpty(), "packages that import each other in a loop: " + cycles);
  }

  @Test
  void sharedLayersKnowOnlyTheContract() {
    for (var e : deps.entrySet()) {
      String from = e.getKey();
      boolean shared = !from.startsWith("methods") && !from.equals("config") && !from.equals("stages")
          && !from.equals("cli") && !from.equals("bench");
      if (!shared) {
        continue;
      }
      for (String to : e.getValue()) {
        assertTrue(!to.startsWith("methods"), from + " imports " + to + ": below the methods only the contract "
            + "(api) may be named");
      }
    }
  }

  @Test
  void contractNamesNoMethodNorTrainer() {
    for (String to : deps.getOrDefault("api", Set.of())) {
      assertTrue(!to.startsWith("methods") && !to.equals("train") && !to.equals("config") && !to.equals("export"),
          "api imports " + to);
    }
  }

  @Test
  void methodPackagesStandAlone() {
    for (var e : deps.entrySet()) {
      if (!isMethod(e.getKey())) {
        continue;
      }
      String own = e.getKey().split("\\.")[1];
      for (String to : e.getValue()) {
        boolean other = isMethod(to) && !to.split("\\.")[1].equals(own);
        assertTrue(!other && !to.equals("methods") && !to.equals("config") && !to.equals("stages")
            && !to.equals("cli") && !to.equals("bench"), e.getKey() + " imports " + to);
      }
    }
  }

  /** Tarjan's strongly connected components with more than one package. */
  private static List<List<String>> stronglyConnected() {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    Set<String> onStack = new java.util.HashSet<>();
    List<List<String>> out = new ArrayList<>();
    int[] counter = {0};
    for (String v : deps.keySet()) {
      if (!index.containsKey(v)) {
        visit(v, index, low, stack, onStack, out, counter);
      }
    }
    return out;
  }

  private static void visit(String v, Map<String, Integer> index, Map<String, Integer> low, Deque<String> stack,
      Set<String> onStack, List<List<String>> out, int[] counter) {
    index.put(v, counter[0]);
    low.put(v, counter[0]++);
    stack.push(v);
    onStack.add(v);
    for (String w : deps.getOrDefault(v, Set.of())) {
      if (!index.containsKey(w)) {
        visit(w, index, low, stack, onStack, out, counter);
        low.put(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.contains(w)) {
        low.put(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v).equals(index.get(v))) {
      List<String> comp = new ArrayList<>();
      String w;
      do {
        w = stack.pop();
        onStack.remove(w);
        comp.add(w);
      } while (!w.equals(v));
      if (comp.size() > 1) {
        out.add(comp);
      }
    }
  }
}
