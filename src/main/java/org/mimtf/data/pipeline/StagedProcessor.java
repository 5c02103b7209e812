package org.mimtf.data.pipeline;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.random.RandomGenerator;
import org.mimtf.data.source.Record;

/** A {@link SampleProcessor} that runs a list of {@link SampleStage}s in order. */
public final class StagedProcessor implements SampleProcessor {
  private final List<SampleStage> stages;
  private final List<FieldSpec> fields;

  public StagedProcessor(List<SampleStage> stages) {
    this.stages = List.copyOf(stages);
    List<FieldSpec> f = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (SampleStage s : stages) {
      for (FieldSpec spec : s.fields()) {
        if (!names.add(spec.name())) {
          throw new IllegalArgumentException("two pipeline stages write batch field '" + spec.name() + "'");
        }
        f.add(spec);
      }
    }
    this.fields = List.copyOf(f);
  }

  @Override
  public List<FieldSpec> fields() {
    return fields;
  }

  @Override
  public void process(Record record, RandomGenerator rng, Batch batch, int slot) {
    SampleContext ctx = new SampleContext(record, rng.nextLong(), batch, slot);
    for (SampleStage s : stages) {
      s.apply(ctx);
    }
  }
}
