package io.sluice.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;

import java.util.List;
import java.util.Map;

/**
 * Which string field of a request is not UTF-8. Protobuf refuses such a message whole, without
 * saying where; read again as bare fields against the request's descriptor, the field can be named,
 * as every other refusal names its field ({@code checks[2].user_id}).
 */
final class InvalidText {

  private InvalidText() {
  }

  /** The path of the first string field that is not UTF-8, or null when there is none (or the bytes do not parse at all). */
  static String field(Descriptors.Descriptor type, byte[] message) {
    return message == null ? null : field(type, ByteString.copyFrom(message), "");
  }

  private static String field(Descriptors.Descriptor type, ByteString message, String prefix) {
    UnknownFieldSet fields;
    try {
      fields = UnknownFieldSet.parseFrom(message);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
    for (Map.Entry<Integer, UnknownFieldSet.Field> entry : fields.asMap().entrySet()) {
      Descriptors.FieldDescriptor field = type.findFieldByNumber(entry.getKey());
      if (field == null) {
        continue;
      }
      List<ByteString> values = entry.getValue().getLengthDelimitedList();
      for (int i = 0; i < values.size(); i++) {
        String path = prefix + field.getName() + (field.isRepeated() ? "[" + i + "]" : "");
        if (field.getType() == Descriptors.FieldDescriptor.Type.STRING && !values.get(i).isValidUtf8()) {
          return path;
        }
        if (field.getType() == Descriptors.FieldDescriptor.Type.MESSAGE) {
          String inner = field(field.getMessageType(), values.get(i), path + ".");
          if (inner != null) {
            return inner;
          }
        }
      }
    }
    return null;
  }
}
