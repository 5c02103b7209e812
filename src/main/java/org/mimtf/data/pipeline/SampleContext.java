package org.mimtf.data.pipeline;

import static com.google.common.base.Preconditions.checkState;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.mimtf.data.source.Record;

/**
 * The state of one example while its stages run: the source record, the example's random stream,
 * intermediate values by name, and its slot in the batch being filled.
 *
 * <p>Each stage should take its own random stream with {@link #rng(String)}, so adding or removing a
 * stage does not change what the others draw.
 */
public final class SampleContext {
  private final Record record;
  private final long exampleSeed;
  private final Batch batch;
  private final int slot;
  private final Map<String, Object> values = new HashMap<>();

  SampleContext(Record record, long exampleSeed, Batch batch, int slot) {
    this.record = record;
    this.exampleSeed = exampleSeed;
    this.batch = batch;
    this.slot = slot;
  }

  public Record record() {
    return record;
  }

  /** A random stream for {@code purpose}, derived from the example's stream and the purpose name. */
  public SplittableRandom rng(String purpose) {
    return org.mimtf.util.Seeds.stream(exampleSeed, purpose.hashCode());
  }

  public Batch batch() {
    return batch;
  }

  public int slot() {
    return slot;
  }

  public void put(String name, Object value) {
    values.put(name, value);
  }

  @SuppressWarnings("unchecked")
  public <T> T get(String name) {
    Object v = values.get(name);
    checkState(v != null, "no intermediate value '%s' (have %s): a stage runs before the one producing it", name,
        values.keySet());
    return (T) v;
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  /** Writes a float field's values for this example. */
  public void write(String field, float[] values) {
    FieldSpec f = batch.spec(field);
    System.arraycopy(values, 0, batch.floats(field), slot * f.elementSize(), f.elementSize());
  }

  public void write(String field, int[] values) {
    FieldSpec f = batch.spec(field);
    System.arraycopy(values, 0, batch.ints(field), slot * f.elementSize(), f.elementSize());
  }

  public void write(String field, boolean[] values) {
    FieldSpec f = batch.spec(field);
    System.arraycopy(values, 0, batch.bools(field), slot * f.elementSize(), f.elementSize());
  }

  public void writeInt(String field, int value) {
    batch.ints(field)[slot] = value;
  }
}
