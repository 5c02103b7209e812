package org.mimtf.train;

import static com.google.common.base.Preconditions.checkArgument;

import org.mimtf.api.Schedule;
import org.mimtf.config.proto.ScheduleConfig;

/**
 * Per-step schedules, computed on the host and fed to the graph each step (so any schedule is
 * possible and a resumed run gets exactly the value of step t).
 */
public final class Schedules {
  private Schedules() {}

  /**
   * The BEiT-family learning rate (common-vit.md §11): linear warm-up over {@code warmup} steps as
   * {@code linspace(0, peak, warmup)} (both ends included, so step 0 has lr 0 and step warmup−1 the
   * peak), then a half cosine from the peak to {@code min} over the remaining steps; with
   * {@code decayLength} > total the cosine is stretched (MOCA ends training before the minimum).
   */
  public static Schedule warmupCosine(double peak, double min, long warmup, long total, long decayLength) {
    checkArgument(total > 0, "total steps (%s) must be > 0", total);
    long decayEnd = Math.max(decayLength, total);
    return step -> {
      if (step < warmup) {
        return warmup == 1 ? peak : peak * step / (warmup - 1);
      }
      long span = decayEnd - warmup;
      if (span <= 0) {
        return min;
      }
      double progress = Math.min(1.0, (double) (step - warmup) / span);
      return min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * progress));
    };
  }

  /** Linear warm-up as above, then constant. */
  public static Schedule warmupConstant(double peak, long warmup) {
    return step -> step < warmup ? (warmup == 1 ? peak : peak * step / (warmup - 1)) : peak;
  }

  /** Linear warm-up, then linear decay to {@code min} at {@code total}. */
  public static Schedule warmupLinear(double peak, double min, long warmup, long total) {
    return step -> {
      if (step < warmup) {
        return warmup == 1 ? peak : peak * step / (warmup - 1);
      }
      double progress = Math.min(1.0, (double) (step - warmup) / Math.max(1, total - warmup));
      return peak + (min - peak) * progress;
    };
  }

  /** A cosine from {@code start} to {@code end} over {@code total} steps, no warm-up. */
  public static Schedule cosine(double start, double end, long total) {
    return step -> end + 0.5 * (start - end) * (1 + Math.cos(Math.PI * Math.min(1.0, (double) step / total)));
  }

  /**
   * Momentum of an EMA teacher rising from {@code m0} to {@code m1} on a cosine (ConMIM, MOCA):
   * {@code m_i = m1 − (m1 − m0)(1 + cos(π i/T))/2}.
   */
  public static Schedule momentum(double m0, double m1, long total) {
    return cosine(m0, m1, total);
  }

  public static Schedule constant(double v) {
    return step -> v;
  }

  /** Builds the learning-rate schedule of a recipe. */
  public static Schedule learningRate(ScheduleConfig s, long totalSteps, long stepsPerEpoch, int globalBatch) {
    double peak = s.getBaseLr();
    if (s.getLrBatchDivisor() > 0) {
      peak = peak * globalBatch / s.getLrBatchDivisor();
    }
    long warmup = warmupSteps(s, stepsPerEpoch);
    long decayLength = Math.round(totalSteps * (double) s.getDecayLengthFactor());
    return switch (s.getKind()) {
      case COSINE -> warmupCosine(peak, s.getMinLr(), warmup, totalSteps, decayLength);
      case CONSTANT -> warmupConstant(peak, warmup);
      case LINEAR -> warmupLinear(peak, s.getMinLr(), warmup, totalSteps);
    };
  }

  /** Warm-up steps: {@code warmup_steps} if set, else {@code warmup_epochs · stepsPerEpoch}. */
  public static long warmupSteps(ScheduleConfig s, long stepsPerEpoch) {
    return s.getWarmupSteps() > 0 ? s.getWarmupSteps() : Math.round(s.getWarmupEpochs() * (double) stepsPerEpoch);
  }
}
