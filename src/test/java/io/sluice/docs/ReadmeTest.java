package io.sluice.docs;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What of the README can be checked without a running fleet (ReadmeExamplesIT runs the rest). */
class ReadmeTest {

  @Test
  void theLimitsFileTheReadmeShowsIsTheShippedOne() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    String section = readme.substring(readme.indexOf("## Limits: `conf/limits.json`"));
    String shown = section.substring(section.indexOf("```json\n") + "```json\n".length(), section.indexOf("```\n", section.indexOf("```json\n") + 1));
    assertThat(shown).isEqualTo(Files.readString(Path.of("conf/limits.json")));
  }

  @Test
  void examplesAreCommandsWithTheLinesTheyPrint() {
    List<ReadmeExamples.Example> examples = ReadmeExamples.parse("""
        text
        ```console
        $ first --flag \\
            --more
        one
        two

        $ second
        ```
        ```bash
        $ not an example
        ```
        ```console approx
        $ third
        took 12 ms
        ```
        """);
    assertThat(examples).extracting(ReadmeExamples.Example::command).containsExactly("first --flag \\\n    --more", "second", "third");
    assertThat(examples.get(0).expected()).containsExactly("one", "two");
    assertThat(examples.get(1).expected()).isEmpty();
    assertTrue(examples.get(2).approx());
    assertThat(examples.get(0).line()).isEqualTo(3);
  }

  @Test
  void outputMayHaveMoreLinesButNeverDifferentOnes() {
    ReadmeExamples.Example check = new ReadmeExamples.Example(1, "check", List.of(
        "DENY rule=login limit=5 remaining=0 retry_after_ms=2067 reset_after_ms=22067", "done"), false);
    assertTrue(ReadmeExamples.shows(List.of("header", "DENY rule=login limit=5 remaining=0 retry_after_ms=4 reset_after_ms=9", "done"), check));
    assertFalse(ReadmeExamples.shows(List.of("DENY rule=login limit=5 remaining=1 retry_after_ms=4 reset_after_ms=9", "done"), check));
    assertFalse(ReadmeExamples.shows(List.of("done", "DENY rule=login limit=5 remaining=0 retry_after_ms=4 reset_after_ms=9"), check),
        "in order");

    ReadmeExamples.Example simulation = new ReadmeExamples.Example(1, "simulate", List.of("  login  allowed     23  denied 6"), true);
    assertTrue(ReadmeExamples.shows(List.of("  login  allowed    123  denied  16"), simulation));
    assertFalse(ReadmeExamples.shows(List.of("  login  allowed 123  denied 16  degraded 4"), simulation));
  }
}
