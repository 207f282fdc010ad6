package io.sluice.limits;

/**
 * What a user id or an action name may be, wherever one comes in (a check, an admin call, a rule
 * or a list in the limits): 1 to {@link #MAX_BYTES} bytes of UTF-8, and no control characters or
 * line separators, so that no name can forge a log line or a key.
 */
public final class Names {

  /** User ids and action names share this bound, so a rule can exist for any valid action. */
  public static final int MAX_BYTES = 256;

  private Names() {
  }

  /** @return null when {@code value} is a valid name; else what is wrong with it, to follow the field's name */
  public static String problem(String value) {
    return problem(value, MAX_BYTES);
  }

  /** The same with another bound on the bytes (an Envoy subject's, say). */
  public static String problem(String value, int maxBytes) {
    int bytes = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
        return "must not contain control characters or line separators, found U+%04X at character %d".formatted((int) c, i);
      }
      // UTF-8 length without encoding: the hot path should not allocate a byte array per field.
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    if (bytes == 0 || bytes > maxBytes) {
      return "must be 1 to " + maxBytes + " bytes of UTF-8, was " + bytes + " bytes";
    }
    return null;
  }
}
