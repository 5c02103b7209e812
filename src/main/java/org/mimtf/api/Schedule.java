package org.mimtf.api;

/**
 * A value per optimizer step, computed on the host and fed to the graph each step (so any schedule
 * is possible and a resumed run gets exactly the value of step t). {@code train.Schedules} builds the
 * usual ones (warm-up + cosine, EMA momentum).
 */
@FunctionalInterface
public interface Schedule {
  double at(long step);
}
