package io.sluice.cli;

import io.sluice.limiter.BanAdmin;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Option values checked where they are read: picocli then names the option and the value
 * ({@code Invalid value for option '--cost': ...}), instead of a negative number travelling to the
 * server as an unsigned one (-1 shown as 4294967295).
 */
final class Values {

  private Values() {
  }

  /** A count that may be 0: --cost, --hits. */
  static final class NonNegative implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      int number = whole(value);
      if (number < 0) {
        throw new TypeConversionException("must be 0 or more, was " + value);
      }
      return number;
    }
  }

  /** A ban's length: 1 second to a year, as the server takes it. */
  static final class BanSeconds implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      long seconds;
      try {
        seconds = Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        throw new TypeConversionException("must be a whole number of seconds, was '" + value + "'");
      }
      if (seconds < 1 || seconds > BanAdmin.MAX_BAN_SECONDS) {
        throw new TypeConversionException("must be from 1 to " + BanAdmin.MAX_BAN_SECONDS + " (a year), was " + value);
      }
      return seconds;
    }
  }

  /** An Envoy descriptor as Envoy sends it: key=value entries, comma separated, each with a key. */
  static final class Descriptor implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      for (String entry : value.split(",", -1)) {
        if (entry.indexOf('=') <= 0) {
          throw new TypeConversionException("must be key=value[,key=value...], and '" + entry + "' has no key=value");
        }
      }
      return value;
    }
  }

  private static int whole(String value) {
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new TypeConversionException("must be a whole number, was '" + value + "'");
    }
  }
}
