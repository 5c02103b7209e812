package org.mimtf.nn.reduce;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import com.google.common.collect.ImmutableSortedSet;
import java.util.Collection;
import org.mimtf.nn.Attention;
import org.mimtf.nn.Compute;
import org.mimtf.nn.TokenReducer;
import org.mimtf.nn.TokenState;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt64;

/**
 * SMR's token compression function TC(·; K) as the backbone's {@link TokenReducer}: in each chosen
 * block, between the attention and MLP residuals, it removes K tokens (CLS is never removed) with one
 * of the four functions of the paper's ablation (smr.md §3–4):
 * <ul>
 *   <li>{@link Kind#MERGE} (TM): ToMe bipartite soft matching on the keys, size-weighted averages;
 *   <li>{@link Kind#DROP} (TD): the same matching, sources deleted;
 *   <li>{@link Kind#FUSE} (ITF): EViT's inattentive token fusion on the CLS attention;
 *   <li>{@link Kind#RANDOM_DROP} (RD): uniform per example.
 * </ul>
 * The encoder tracks each token's size, slot and the patch-owner map ({@link TokenState}).
 * Proportional attention (ToMe: + log size on the logits) is an option, off by default.
 */
public final class TokenCompression implements TokenReducer {
  /** The compression function. */
  public enum Kind {
    MERGE,
    DROP,
    FUSE,
    RANDOM_DROP,
    NONE
  }

  /**
   * A compression configuration.
   *
   * @param kind the function
   * @param perBlock K, tokens removed in each compressing block
   * @param blocks the compressing blocks, 0-based
   * @param proportionalAttention ToMe's proportional attention
   * @param fusedTokenHasSlot ITF: the fused token takes its most attentive member's slot (else none)
   * @param randomSplit TM/TD: split A/B over a random per-example order of the patch tokens (the paper's
   *     "randomly partitioned") instead of ToMe's alternation over the current order
   */
  public record Config(Kind kind, int perBlock, ImmutableSortedSet<Integer> blocks, boolean proportionalAttention,
      boolean fusedTokenHasSlot, boolean randomSplit) {
    public Config {
      checkArgument(perBlock >= 0, "tokens per block must be >= 0, got %s", perBlock);
    }

    public static Config of(Kind kind, int perBlock, Collection<Integer> blocks) {
      return new Config(kind, perBlock, ImmutableSortedSet.copyOf(blocks), false, true, false);
    }

    public Config withProportionalAttention(boolean on) {
      return new Config(kind, perBlock, blocks, on, fusedTokenHasSlot, randomSplit);
    }

    public Config withRandomSplit(boolean on) {
      return new Config(kind, perBlock, blocks, proportionalAttention, fusedTokenHasSlot, on);
    }

    public Config withFusedTokenSlot(boolean hasSlot) {
      return new Config(kind, perBlock, blocks, proportionalAttention, hasSlot, randomSplit);
    }

    /**
     * Tokens (CLS included) after each of {@code depth} blocks for {@code patches} input patches; the
     * removal per block is K unless a function's limit is reached (see {@link #removedAt}).
     */
    public int[] tokensAfterBlocks(int patches, int depth) {
      int[] out = new int[depth];
      int t = patches + 1;
      for (int i = 0; i < depth; i++) {
        if (blocks.contains(i)) {
          t -= removedAt(t);
        }
        out[i] = t;
      }
      return out;
    }

    /** Tokens one compressing block removes from {@code tokens} tokens. */
    public int removedAt(int tokens) {
      return switch (kind) {
        case MERGE, DROP -> BipartiteSoftMatching.effectiveR(tokens, perBlock);
        case FUSE -> InattentiveFusion.effectiveK(tokens, perBlock);
        case RANDOM_DROP -> RandomDropping.effectiveK(tokens, perBlock);
        case NONE -> 0;
      };
    }
  }

  private final Config cfg;
  private final Operand<TInt64> seed;

  /**
   * @param seed the step's stateless seed [2] (random dropping draws from it, salted per block); null
   *     uses a fixed seed (inference)
   */
  public TokenCompression(Config cfg, Operand<TInt64> seed) {
    this.cfg = cfg;
    this.seed = seed;
  }

  public Config config() {
    return cfg;
  }

  @Override
  public boolean appliesTo(int block) {
    return cfg.kind() != Kind.NONE && cfg.perBlock() > 0 && cfg.blocks().contains(block);
  }

  @Override
  public boolean proportionalAttention() {
    return cfg.proportionalAttention();
  }

  @Override
  public TokenState reduce(Ops tf, Compute c, TokenState state, Attention.Output attention, int block) {
    checkState(state.tracked(), "token compression needs sizes, slots and owners (VisionTransformer.forward with "
        + "a reducer sets them up)");
    return switch (cfg.kind()) {
      case MERGE, DROP -> {
        TokenState s = state;
        Operand<org.tensorflow.types.TFloat32> metric = BipartiteSoftMatching.keyMetric(tf, attention.keys());
        if (cfg.randomSplit()) {
          Operand<org.tensorflow.types.TInt32> perm = BipartiteSoftMatching.randomOrder(tf, metric, s.tokens(),
              blockSeed(tf, block));
          s = BipartiteSoftMatching.reorder(tf, s, perm);
          metric = TokenOps.gather1(tf, metric, perm);
        }
        yield BipartiteSoftMatching.apply(tf, s, BipartiteSoftMatching.match(tf, metric, s.tokens(),
            cfg.perBlock()), cfg.kind() == Kind.DROP);
      }
      case FUSE -> InattentiveFusion.apply(tf, state, InattentiveFusion.attentiveness(tf, attention.probs()),
          cfg.perBlock(), cfg.fusedTokenHasSlot());
      case RANDOM_DROP -> RandomDropping.apply(tf, state, cfg.perBlock(), blockSeed(tf, block));
      case NONE -> state;
    };
  }

  private Operand<TInt64> blockSeed(Ops tf, int block) {
    Operand<TInt64> base = seed != null ? seed : tf.constant(new long[] {0, 0});
    return tf.math.add(base, tf.constant(new long[] {0, 999_983L * (block + 1) + 17}));
  }
}
