package org.mimtf.cli;

import picocli.CommandLine;

/** Prints mimtf's and the TensorFlow native library's versions. */
final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = Mimtf.class.getPackage().getImplementationVersion();
    return new String[] {
      "mimtf " + (v == null ? "dev" : v),
      "TensorFlow " + org.tensorflow.TensorFlow.version() + " (TF Java 1.0)"
    };
  }
}
