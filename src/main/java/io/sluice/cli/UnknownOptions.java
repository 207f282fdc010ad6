package io.sluice.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.util.Comparator;

/**
 * A tool's command line that does not parse. picocli reports a missing required option before an
 * unknown one, so a misspelt {@code --acton} read as "Missing required option: '--action'"; the
 * misspelling is what the person has to fix, so it is named first, with the option meant.
 */
public final class UnknownOptions {

  private UnknownOptions() {
  }

  public static int report(ParameterException problem, String[] args) {
    CommandLine command = problem.getCommandLine();
    PrintWriter err = command.getErr();
    String unknown = null;
    for (int i = 0; i < args.length && unknown == null; i++) {
      String arg = args[i];
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      OptionSpec option = command.getCommandSpec().findOption(name);
      if (option != null) {
        // Its value may look like an option (a token starting with '-'): never read as one, never printed.
        i += !arg.contains("=") && option.arity().max() > 0 ? 1 : 0;
      } else if (arg.matches("--?[A-Za-z].*")) {
        unknown = name;
      }
    }
    if (unknown != null) {
      String misspelt = unknown;
      String meant = command.getCommandSpec().options().stream().map(OptionSpec::longestName)
          .filter(name -> distance(name, misspelt) <= 2)
          .min(Comparator.comparingInt(name -> distance(name, misspelt))).orElse(null);
      err.println("Unknown option: '" + misspelt + "'" + (meant != null ? " (did you mean " + meant + "?)" : ""));
    } else {
      err.println(problem.getMessage());
    }
    err.println("Run '" + command.getCommandName() + " --help' for its options.");
    return command.getCommandSpec().exitCodeOnInvalidInput();
  }

  /** Edits (insert, delete, replace) from one name to the other. */
  private static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int replace = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(replace, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
