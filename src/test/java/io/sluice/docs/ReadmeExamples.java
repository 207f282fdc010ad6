package io.sluice.docs;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The runnable examples of a Markdown document: every {@code console} code block, where a line
 * starting with {@code $ } is a command (continued by a trailing backslash) and the lines up to the
 * next command are what it prints. A block fenced {@code console approx} is compared without its
 * numbers, for output that is random by design (a simulation's counts).
 */
final class ReadmeExamples {

  /** One command, where it is in the document, and the lines the document says it prints. */
  record Example(int line, String command, List<String> expected, boolean approx) {
  }

  /**
   * What changes from one run to the next however right the product is: durations (how long until a
   * token or a ban ends), instants, digests, run ids, lease ids. Each becomes a placeholder, in the document and
   * in the output alike, so that everything else is compared exactly.
   */
  private static final List<Replacement> VOLATILE = List.of(
      new Replacement(Pattern.compile("\\b(\\w+_ms)=\\d+"), "$1=N"),
      new Replacement(Pattern.compile("\"(\\w+Ms)\"\\s*:\\s*\\d+"), "\"$1\":N"),
      new Replacement(Pattern.compile(";t=\\d+"), ";t=N"),
      new Replacement(Pattern.compile("\\breset=\\d+s"), "reset=Ns"),
      new Replacement(Pattern.compile("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z"), "INSTANT"),
      new Replacement(Pattern.compile("\"digest\"\\s*:\\s*\"[0-9a-f]+\""), "\"digest\":\"D\""),
      new Replacement(Pattern.compile("sim-[0-9a-f]{8}"), "sim-ID"),
      new Replacement(Pattern.compile("\\blease_id=l1\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*\\.[0-9a-f]+"), "lease_id=LEASE"));
  private static final Replacement NUMBERS = new Replacement(Pattern.compile("\\d+(\\.\\d+)?"), "N");
  private static final Replacement SPACES = new Replacement(Pattern.compile("\\s+"), " ");

  private record Replacement(Pattern pattern, String with) {
    String apply(String text) {
      return pattern.matcher(text).replaceAll(with);
    }
  }

  private ReadmeExamples() {
  }

  static List<Example> parse(String markdown) {
    List<Example> examples = new ArrayList<>();
    String[] lines = markdown.split("\n", -1);
    boolean inBlock = false;
    boolean approx = false;
    StringBuilder command = null;
    int commandLine = 0;
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      if (!inBlock) {
        Matcher fence = Pattern.compile("^```console( approx)?\\s*$").matcher(line);
        if (fence.matches()) {
          inBlock = true;
          approx = fence.group(1) != null;
        }
        continue;
      }
      boolean continued = command != null && command.toString().endsWith("\\");
      if (continued) {
        command.append('\n').append(line);
      } else if (line.startsWith("```") || line.startsWith("$ ")) {
        if (command != null) {
          examples.add(new Example(commandLine, command.toString(), List.copyOf(expected), approx));
          command = null;
          expected.clear();
        }
        if (line.startsWith("```")) {
          inBlock = false;
        } else {
          command = new StringBuilder(line.substring(2));
          commandLine = i + 1;
        }
      } else if (command != null && !line.isBlank()) {
        expected.add(line);
      }
    }
    return examples;
  }

  /** A line as compared: volatile parts replaced, and for approximate examples every number too. */
  static String normalize(String line, boolean approx) {
    String normalized = line.replace("\r", "").stripTrailing();
    for (Replacement replacement : VOLATILE) {
      normalized = replacement.apply(normalized);
    }
    return approx ? SPACES.apply(NUMBERS.apply(normalized)).strip() : normalized;
  }

  /**
   * Whether every expected line appears in the output, in order: the document may leave lines out
   * (HTTP headers it does not discuss, the middle of a long JSON answer), never change one.
   */
  static boolean shows(List<String> output, Example example) {
    int found = 0;
    for (String line : output) {
      if (found < example.expected().size()
          && normalize(line, example.approx()).equals(normalize(example.expected().get(found), example.approx()))) {
        found++;
      }
    }
    return found == example.expected().size();
  }
}
