package org.mimtf.api;

import org.mimtf.nn.VitConfig;

/**
 * The encoder a method keeps after pre-training: its configuration and the variable scope it lives
 * under in the training graph ({@code encoder} for the online network, {@code momentum/encoder} for
 * ConMIM's, {@code teacher/encoder} for MOCA's). Exports rebuild a plain ViT with this config under
 * the scope {@code encoder} and restore it from that scope of the checkpoint.
 *
 * @param config the ViT configuration
 * @param scope the variable scope in training checkpoints, without a trailing slash
 */
public record EncoderSpec(VitConfig config, String scope) {}
