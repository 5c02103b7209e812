package org.mimtf.config;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.Map;

/**
 * How a refining recipe ({@code base_recipe}) changes its base: every field the refinement sets
 * replaces the base's, message fields recursively, repeated fields as a whole.
 *
 * <p>Why not protobuf's own {@code mergeFrom}: it appends repeated fields, so a refinement that
 * restates {@code data.view} or {@code model.input_mean} would silently double them. Replacing a
 * list whole keeps "the refinement states what differs" true for lists too, as in the Object
 * Detection API's habit of editing one pipeline config into another.
 */
final class RecipeRefinement {
  private RecipeRefinement() {}

  /** Writes every field set in {@code refinement} over {@code base}. */
  static void refine(Message.Builder base, Message refinement) {
    for (Map.Entry<FieldDescriptor, Object> e : refinement.getAllFields().entrySet()) {
      FieldDescriptor f = e.getKey();
      if (!f.isRepeated() && f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && base.hasField(f)) {
        // a message both set: refine the base's field by field (a oneof member switched by the
        // refinement is not "both set", so it replaces the base's member whole)
        Message.Builder sub = ((Message) base.getField(f)).toBuilder();
        refine(sub, (Message) e.getValue());
        base.setField(f, sub.build());
      } else {
        base.setField(f, e.getValue());
      }
    }
  }
}
