package org.mimtf.data.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.mimtf.data.source.SkippingPolicy;
import org.mimtf.data.source.Source;

/**
 * The pipeline's contract on a small in-memory source whose pixels encode the example index:
 * determinism whatever the worker count, epochs, tf.data-style shuffle buffer, sharding, resume,
 * finite passes, bounded memory, bad input.
 */
class PipelineTest {
  static final int PIXELS = IndexedSource.H * IndexedSource.W;

  /**
   * Writes the example's pixels ({@code image}), its source index ({@code index}), and draws from its
   * random stream into {@code noise} (float32 [3]), {@code coin} (bool [4]) and {@code draw} (int64
   * [2]), so a test sees both what was read and what was drawn.
   */
  static SampleStage probe() {
    List<FieldSpec> fields = List.of(
        FieldSpec.of("image", FieldSpec.DType.FLOAT32, IndexedSource.H, IndexedSource.W, 1),
        FieldSpec.of("index", FieldSpec.DType.INT32),
        FieldSpec.of("noise", FieldSpec.DType.FLOAT32, 3),
        FieldSpec.of("coin", FieldSpec.DType.BOOL, 4),
        FieldSpec.of("draw", FieldSpec.DType.INT64, 2));
    return new SampleStage() {
      @Override
      public List<FieldSpec> fields() {
        return fields;
      }

      @Override
      public void apply(SampleContext ctx) {
        Image img = ctx.get(Stages.DECODED);
        ctx.write("image", img.data());
        ctx.writeInt("index", ctx.record().index());
        SplittableRandom r = ctx.rng("probe");
        ctx.write("noise", new float[] {r.nextFloat(), r.nextFloat(), r.nextFloat()});
        ctx.write("coin", new boolean[] {r.nextBoolean(), r.nextBoolean(), r.nextBoolean(), r.nextBoolean()});
        long[] d = ctx.batch().longs("draw");
        d[2 * ctx.slot()] = ctx.record().index();
        d[2 * ctx.slot() + 1] = r.nextLong();
      }
    };
  }

  static StagedProcessor processor() {
    return new StagedProcessor(List.of(Stages.decode(null, 1), probe(), Stages.label(10)));
  }

  static PipelineOptions options(int batch, int workers, int prefetch, boolean shuffle, int buffer, long seed) {
    return new PipelineOptions(batch, workers, prefetch, shuffle, buffer, seed, 0, 1, 0, false, 0);
  }

  static Pipeline pipeline(Source s, PipelineOptions o) {
    return new Pipeline(s, processor(), o);
  }

  /** Source indices of the next {@code elements} elements, checking that pixels and index agree. */
  static int[] indices(Pipeline p, int elements) {
    int[] out = new int[elements];
    int n = 0;
    while (n < elements) {
      long before = p.position();
      Batch b = p.next();
      assertEquals(before, b.firstElement(), "batches are consecutive in the element stream");
      int[] idx = b.ints("index");
      float[] img = b.floats("image");
      for (int i = 0; i < b.size() && n < elements; i++, n++) {
        assertEquals(idx[i], IndexedSource.indexOf(img[i * PIXELS]), "pixels belong to the example named");
        out[n] = idx[i];
      }
    }
    return out;
  }

  static int[] sorted(int[] a) {
    int[] s = a.clone();
    Arrays.sort(s);
    return s;
  }

  // ---- determinism --------------------------------------------------------------------------------

  @ParameterizedTest(name = "shuffle buffer {0}")
  @ValueSource(ints = {0, 6})
  void outputIsIdenticalWhateverTheWorkerCountAndDiffersForAnotherSeed(int buffer) {
    IndexedSource src = new IndexedSource(30);
    // 5 batches of 7 = 35 elements: crosses the epoch boundary at 30.
    List<Snapshot> ref;
    try (Pipeline p = pipeline(src, options(7, 1, 2, true, buffer, 42))) {
      ref = Snapshot.take(p, 5);
    }
    for (int workers : new int[] {2, 3}) {
      try (Pipeline p = pipeline(src, options(7, workers, 2, true, buffer, 42))) {
        Snapshot.assertSame(ref, Snapshot.take(p, 5), workers + " workers vs 1");
      }
    }
    // prefetch depth does not matter either
    try (Pipeline p = pipeline(src, options(7, 3, 0, true, buffer, 42))) {
      Snapshot.assertSame(ref, Snapshot.take(p, 5), "prefetch 0 vs 2");
    }
    try (Pipeline p = pipeline(src, options(7, 2, 2, true, buffer, 43))) {
      List<Snapshot> other = Snapshot.take(p, 5);
      for (int i = 0; i < 5; i++) {
        assertFalse(ref.get(i).sameAs(other.get(i)), "batch " + i + " is the same for seeds 42 and 43");
        assertFalse(Arrays.equals(ref.get(i).ints("index"), other.get(i).ints("index")),
            "batch " + i + ": seed 43 visits the examples in the same order as seed 42");
      }
    }
    // the draws are real draws: they differ between the examples of a batch
    Set<Float> noise = new HashSet<>();
    for (float f : ref.get(0).floats("noise")) {
      noise.add(f);
    }
    assertEquals(ref.get(0).floats("noise").length, noise.size(), "per-example noise repeats within a batch");
  }

  @Test
  void exampleRandomnessDependsOnSeedEpochAndIndexOnly() {
    IndexedSource src = new IndexedSource(20);
    // Same seed, different batch sizes and worker counts: the draw for (epoch, index) is the same.
    Map<Long, Long> a = drawsByEpochAndIndex(src, options(3, 1, 1, true, 0, 5), 40);
    Map<Long, Long> b = drawsByEpochAndIndex(src, options(8, 3, 2, true, 0, 5), 40);
    assertEquals(a, b);
    // An example is augmented differently in each epoch.
    for (int i = 0; i < 20; i++) {
      assertNotEquals(a.get((long) i), a.get(1000L + i), "example " + i + " draws the same in epochs 0 and 1");
    }
  }

  /** (epoch * 1000 + index) -> the example's int64 draw, over the first {@code elements} elements. */
  private static Map<Long, Long> drawsByEpochAndIndex(Source src, PipelineOptions o, int elements) {
    Map<Long, Long> out = new HashMap<>();
    try (Pipeline p = pipeline(src, o)) {
      int seen = 0;
      while (seen < elements) {
        Batch b = p.next();
        for (int i = 0; i < b.size() && seen < elements; i++, seen++) {
          long epoch = (b.firstElement() + i) / src.size();
          out.put(epoch * 1000 + b.ints("index")[i], b.longs("draw")[2 * i + 1]);
        }
      }
    }
    return out;
  }

  // ---- epochs and shuffling -----------------------------------------------------------------------

  @ParameterizedTest(name = "shuffle buffer {0}")
  @ValueSource(ints = {0, 8, 50, 1000})
  void eachEpochVisitsEveryExampleOnceInANewOrder(int buffer) {
    int n = 50;
    IndexedSource src = new IndexedSource(n);
    int[] all;
    try (Pipeline p = pipeline(src, options(7, 2, 2, true, buffer, 11))) {
      assertEquals(n, p.elementsPerEpoch());
      all = indices(p, 3 * n);
    }
    int[] identity = IntStream.range(0, n).toArray();
    List<int[]> epochs = new ArrayList<>();
    for (int e = 0; e < 3; e++) {
      int[] ep = Arrays.copyOfRange(all, e * n, (e + 1) * n);
      assertArrayEquals(identity, sorted(ep), "epoch " + e + " is not a permutation of the data set");
      assertFalse(Arrays.equals(identity, ep), "epoch " + e + " is not shuffled");
      epochs.add(ep);
    }
    assertFalse(Arrays.equals(epochs.get(0), epochs.get(1)), "epochs 0 and 1 have the same order");
    assertFalse(Arrays.equals(epochs.get(1), epochs.get(2)), "epochs 1 and 2 have the same order");
    int maxLead = 0;
    for (int[] ep : epochs) {
      for (int k = 0; k < n; k++) {
        maxLead = Math.max(maxLead, ep[k] - k);
      }
    }
    if (buffer > 0 && buffer < n) {
      // tf.data shuffle(buffer): the k-th output is drawn from inputs 0 .. k + buffer - 1.
      assertTrue(maxLead < buffer, "output k came from input k + " + maxLead + ", beyond the buffer of " + buffer);
    } else {
      assertTrue(maxLead >= 8, "a whole-epoch shuffle should move some example far ahead, max lead " + maxLead);
    }
  }

  @Test
  void withoutShuffleTheOrderIsTheIdentityEveryEpoch() {
    int n = 13;
    try (Pipeline p = pipeline(new IndexedSource(n), options(5, 3, 2, false, 0, 11))) {
      int[] got = indices(p, 3 * n);
      for (int e = 0; e < got.length; e++) {
        assertEquals(e % n, got[e], "element " + e);
      }
      assertEquals(3, p.epoch(), "after 3 epochs (40 elements returned in batches of 5)");
    }
  }

  @Test
  void epochAndPositionFollowTheReturnedBatches() {
    try (Pipeline p = pipeline(new IndexedSource(10), options(4, 2, 2, true, 0, 1))) {
      assertEquals(0, p.position());
      assertEquals(0, p.epoch());
      p.next();
      p.next();
      assertEquals(8, p.position());
      assertEquals(0, p.epoch());
      p.next();
      assertEquals(12, p.position());
      assertEquals(1, p.epoch());
    }
  }

  // ---- sharding -----------------------------------------------------------------------------------

  @ParameterizedTest(name = "shuffle {0}")
  @ValueSource(booleans = {false, true})
  void shardsAreDisjointEqualAndCoverTheEpochMinusTheRemainder(boolean shuffle) {
    int n = 53;
    int count = 4;
    IndexedSource src = new IndexedSource(n);
    PipelineOptions base = options(5, 2, 1, shuffle, 0, 3).withEpochs(1, false);
    int[] whole;
    try (Pipeline p = pipeline(src, base)) {
      whole = indices(p, n);
      assertFalse(p.hasNext());
    }
    Set<Integer> union = new HashSet<>();
    for (int k = 0; k < count; k++) {
      try (Pipeline p = pipeline(src, base.withShard(k, count))) {
        assertEquals(n / count, p.elementsPerEpoch(), "shard " + k + " length");
        int[] shard = indices(p, n / count);
        assertFalse(p.hasNext(), "shard " + k + " is longer than " + n / count);
        for (int j = 0; j < shard.length; j++) {
          // tf.data's shard(count, index) after the shuffle: every count-th element
          assertEquals(whole[j * count + k], shard[j], "shard " + k + " element " + j);
          assertTrue(union.add(shard[j]), "example " + shard[j] + " is in two shards");
        }
      }
    }
    assertEquals(n - n % count, union.size());
    // The dropped remainder is the tail of the (shuffled) epoch.
    for (int j = n - n % count; j < n; j++) {
      assertFalse(union.contains(whole[j]), "the remainder example " + whole[j] + " was kept");
    }
    if (!shuffle) {
      assertFalse(union.contains(52));
    }
  }

  @Test
  void shardsOfAnEndlessStreamStayDisjointInEveryEpoch() {
    int n = 40;
    IndexedSource src = new IndexedSource(n);
    PipelineOptions base = options(6, 2, 2, true, 0, 9);
    int[][] shards = new int[2][];
    for (int k = 0; k < 2; k++) {
      try (Pipeline p = pipeline(src, base.withShard(k, 2))) {
        shards[k] = indices(p, 3 * 20);
      }
    }
    for (int e = 0; e < 3; e++) {
      Set<Integer> s = new HashSet<>();
      for (int k = 0; k < 2; k++) {
        for (int j = e * 20; j < (e + 1) * 20; j++) {
          assertTrue(s.add(shards[k][j]), "epoch " + e + ": example " + shards[k][j] + " twice");
        }
      }
      assertEquals(n, s.size(), "epoch " + e);
    }
  }

  @Test
  void badShardSettingsAreRejected() {
    IndexedSource src = new IndexedSource(3);
    PipelineOptions o = options(2, 1, 1, false, 0, 0);
    assertThrows(IllegalArgumentException.class, () -> pipeline(src, o.withShard(2, 2)).close());
    assertThrows(IllegalArgumentException.class, () -> pipeline(src, o.withShard(0, 4)).close());
  }

  // ---- resume -------------------------------------------------------------------------------------

  @ParameterizedTest(name = "after {0} batches, buffer {1}, shard {2}/{3}")
  @CsvSource({"1, 0, 0, 1", "3, 0, 0, 1", "4, 0, 0, 1", "5, 0, 0, 1", "4, 6, 0, 1", "2, 0, 1, 2", "9, 5, 1, 2"})
  void aPipelineStartedAtPositionContinuesExactly(int k, int buffer, int shard, int shards) {
    IndexedSource src = new IndexedSource(30);
    PipelineOptions o = options(7, 2, 2, true, buffer, 77).withShard(shard, shards);
    long pos;
    long epoch;
    List<Snapshot> expected;
    try (Pipeline a = pipeline(src, o)) {
      Snapshot.take(a, k);
      pos = a.position();
      epoch = a.epoch();
      expected = Snapshot.take(a, 4);
    }
    assertEquals(7L * k, pos);
    try (Pipeline b = pipeline(src, o.withStartElement(pos).withWorkers(3))) {
      assertEquals(pos, b.position());
      assertEquals(epoch, b.epoch());
      Snapshot.assertSame(expected, Snapshot.take(b, 4), "resumed at " + pos);
    }
    if (k == 4 && shards == 1) {
      // elements 28..34 span epochs 0 and 1: the resumed batch crosses the boundary
      assertEquals(28, expected.get(0).firstElement());
    }
  }

  // ---- finite passes ------------------------------------------------------------------------------

  @Test
  void singlePassReturnsEveryExampleOnceWithAFinalPartialBatch() {
    int n = 23;
    try (Pipeline p = pipeline(new IndexedSource(n), PipelineOptions.singlePass(5, 3, 0))) {
      List<Integer> sizes = new ArrayList<>();
      List<Integer> seen = new ArrayList<>();
      while (p.hasNext()) {
        Batch b = p.next();
        sizes.add(b.size());
        for (int i = 0; i < b.size(); i++) {
          seen.add(b.ints("index")[i]);
          assertEquals(b.ints("index")[i] % 10, b.ints("label")[i]);
        }
      }
      assertEquals(List.of(5, 5, 5, 5, 3), sizes);
      assertEquals(IntStream.range(0, n).boxed().toList(), seen, "ordered, each example once");
      assertFalse(p.hasNext());
      assertEquals(n, p.position());
      assertThrows(NoSuchElementException.class, p::next);
    }
  }

  @Test
  void finiteRunsDropTheRemainderOnlyWhenAsked() {
    int n = 23;
    IndexedSource src = new IndexedSource(n);
    PipelineOptions o = options(5, 2, 1, true, 0, 4);
    try (Pipeline p = pipeline(src, o.withEpochs(1, true))) {
      int batches = 0;
      while (p.hasNext()) {
        assertEquals(5, p.next().size());
        batches++;
      }
      assertEquals(4, batches);
    }
    try (Pipeline p = pipeline(src, o.withEpochs(2, false))) {
      int[] idx = indices(p, 2 * n);
      assertFalse(p.hasNext(), "2 epochs of 23 = 46 elements = 9 batches of 5 + 1");
      assertArrayEquals(IntStream.range(0, n).toArray(), sorted(Arrays.copyOfRange(idx, 0, n)));
      assertArrayEquals(IntStream.range(0, n).toArray(), sorted(Arrays.copyOfRange(idx, n, 2 * n)));
    }
  }

  // ---- memory -------------------------------------------------------------------------------------

  @ParameterizedTest(name = "prefetch {0}")
  @ValueSource(ints = {0, 1, 3})
  void batchObjectsAreRecycledWithinPrefetchPlusTwo(int prefetch) {
    try (Pipeline p = pipeline(new IndexedSource(50), options(4, 3, prefetch, true, 0, 2))) {
      Set<Batch> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
      for (int i = 0; i < 300; i++) {
        distinct.add(p.next());
      }
      assertTrue(distinct.size() <= prefetch + 2,
          distinct.size() + " distinct batches for prefetch " + prefetch + " (bound: prefetch + 2)");
    }
  }

  @Test
  void aReturnedBatchIsNotWrittenWhileTheConsumerHoldsIt() throws InterruptedException {
    try (Pipeline p = pipeline(new IndexedSource(30), options(4, 3, 3, true, 0, 2))) {
      for (int i = 0; i < 20; i++) {
        Batch b = p.next();
        Snapshot before = Snapshot.of(b);
        Thread.sleep(2); // workers fill the next batches meanwhile
        assertTrue(before.sameAs(Snapshot.of(b)), "batch " + i + " changed while held");
      }
    }
  }

  @Test
  void closeReturnsOnlyWhenNoWorkerIsStillReading() {
    // Reads spin 20 ms without looking at interrupts, like a decode in native code.
    IndexedSource src = new IndexedSource(40, Set.of(), 20_000_000L);
    Pipeline p = pipeline(src, options(4, 3, 2, true, 0, 2));
    p.next();
    p.close();
    // A subclass (PipelineFactory's) closes the source and the TF decoder right after this.
    assertEquals(0, src.active.get(), "a worker is still reading the source after close()");
    assertFalse(p.hasNext());
  }

  // ---- bad input ----------------------------------------------------------------------------------

  @Test
  void failPolicyStopsWithTheSourcesException() {
    IndexedSource src = new IndexedSource(30, Set.of(12));
    try (Pipeline p = pipeline(src, options(5, 2, 2, false, 0, 0))) {
      assertArrayEquals(IntStream.range(0, 10).toArray(), indices(p, 10), "batches before the bad one");
      BadInputException e = assertThrows(BadInputException.class, p::next);
      assertEquals("mem#12", e.origin());
      assertTrue(e.getMessage().contains("mem#12") && e.getMessage().contains("corrupt"), e.getMessage());
      assertFalse(p.hasNext(), "a failed pipeline is closed");
      assertEquals(0, p.skipped());
    }
  }

  @Test
  void failPolicyAlsoStopsOnBadInputFoundByAStage() {
    // labels are index % 10; a 5-class label stage rejects example 5
    StagedProcessor proc = new StagedProcessor(List.of(Stages.decode(null, 1), probe(), Stages.label(5)));
    try (Pipeline p = new Pipeline(new IndexedSource(10), proc, options(4, 2, 1, false, 0, 0))) {
      p.next();
      BadInputException e = assertThrows(BadInputException.class, p::next);
      assertEquals("mem#5", e.origin());
      assertTrue(e.getMessage().contains("label 5 is outside [0, 5)"), e.getMessage());
    }
  }

  @Test
  void skippingPolicyFillsTheSlotWithAnotherExampleDeterministically() {
    int n = 30;
    List<Snapshot> ref = null;
    for (int workers : new int[] {1, 3}) {
      IndexedSource src = new IndexedSource(n, Set.of(12));
      SkippingPolicy policy = SkippingPolicy.skipUpTo(3);
      try (Pipeline p = new Pipeline(src, processor(), PipelineOptions.singlePass(5, workers, 8), policy::onBadInput)) {
        List<Snapshot> got = new ArrayList<>();
        while (p.hasNext()) {
          got.add(Snapshot.of(p.next()));
        }
        assertEquals(6, got.size(), "the pass keeps its length");
        int[] idx = new int[n];
        for (Snapshot s : got) {
          System.arraycopy(s.ints("index"), 0, idx, (int) s.firstElement(), s.size());
          for (int i = 0; i < s.size(); i++) {
            assertEquals(s.ints("index")[i], IndexedSource.indexOf(s.floats("image")[i * PIXELS]));
          }
        }
        for (int e = 0; e < n; e++) {
          if (e != 12) {
            assertEquals(e, idx[e], "element " + e);
          }
        }
        assertNotEquals(12, idx[12], "the bad example's slot holds another example");
        assertTrue(idx[12] >= 0 && idx[12] < n);
        assertEquals(1, p.skipped());
        assertEquals(1, policy.skipped());
        if (ref == null) {
          ref = got;
        } else {
          Snapshot.assertSame(ref, got, "replacement with " + workers + " workers");
        }
      }
    }
  }

  @Test
  void skippingPolicyFailsPastItsLimit() {
    IndexedSource src = new IndexedSource(30, Set.of(3, 7, 12));
    SkippingPolicy policy = SkippingPolicy.skipUpTo(2);
    try (Pipeline p = new Pipeline(src, processor(), PipelineOptions.singlePass(5, 2, 0), policy::onBadInput)) {
      BadInputException e = assertThrows(BadInputException.class, () -> {
        while (p.hasNext()) {
          p.next();
        }
      });
      assertTrue(e.getMessage().contains("too many bad inputs"), e.getMessage());
      assertTrue(e.origin().startsWith("mem#"), e.origin());
      assertInstanceOf(BadInputException.class, e.getCause());
      assertTrue(policy.skipped() > 2);
      assertFalse(p.hasNext());
    }
  }
}
