package io.sluice.limits;

import io.vertx.core.json.DecodeException;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What is wrong with text that does not parse as JSON, in a person's terms: where (line and column)
 * and what was expected. The decoder's own message names its library's classes and features
 * ({@code REDACTED (StreamReadFeature...)}) and quotes the input over several lines.
 */
public final class JsonSyntax {

  private static final Pattern POSITION = Pattern.compile("line: (\\d+), column: (\\d+)");

  private JsonSyntax() {
  }

  /** "not valid JSON at line 3, column 32: was expecting comma to separate Object entries". */
  public static String describe(DecodeException e) {
    String message = String.valueOf(e.getMessage());
    Matcher at = POSITION.matcher(message);
    String what = message.lines().findFirst().orElse("").replaceFirst("^Failed to decode:\\s*", "");
    return "not valid JSON" + (at.find() ? " at line " + at.group(1) + ", column " + at.group(2) : "")
        + (what.isBlank() ? "" : ": " + LimitsParser.printable(what));
  }
}
