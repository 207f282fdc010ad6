package io.sluice.ops;

import io.sluice.support.Await;
import io.sluice.support.Cli;
import io.sluice.support.LogCapture;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The console in a real browser (headless Chromium, driven by Selenium) against real instances and
 * Redis: log in, see the fleet (and the instance whose limits differ), ban and unban a user and see
 * the CLI agree, read the audit trail. Screenshots of each page go to target/console-screenshots
 * (the README's are these). Skipped, saying why, where Debian's chromium and chromium-driver are missing.
 */
class ConsoleBrowserTest {

  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
  private static final String ALICE = "alice-console-token-of-more-than-32-chars";
  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 100, "refillPerSecond": 10 }, "login": { "capacity": 5, "refillPerSecond": 0.2 },
        "card": { "capacity": 1, "refillPerSecond": 0.001, "abuse": { "maxViolations": 1, "banSeconds": 600, "scope": "user" } } } }
      """;

  @Test
  void anOperatorLogsInSeesTheFleetBansAndUnbansAndReadsTheAuditTrail(@TempDir Path dir) throws Exception {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if (!present) {
      System.out.println("ConsoleBrowserTest skipped: no " + CHROMIUM + " and " + CHROMEDRIVER + " (apt-get install chromium chromium-driver)");
    }
    Assumptions.assumeTrue(present, "no " + CHROMIUM + " and " + CHROMEDRIVER + ": apt-get install chromium chromium-driver");
    Files.createDirectories(SCREENSHOTS);
    Path tokens = Files.writeString(dir.resolve("admin-tokens"), "alice " + ALICE + "\n");
    // Heartbeats at the default pace: each brings an instance's decisions to the fleet's charts.
    JsonObject settings = new JsonObject().put("adminTokensFile", tokens.toString()).put("heartbeatMs", 1000);
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    ChromeOptions options = new ChromeOptions().addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
        "--window-size=1280,800", "--disable-gpu");
    options.setBinary(CHROMIUM.toFile());
    // A Redis of its own: the limits it publishes are stored there, and no other test's instances adopt them.
    try (TestRedis redis = TestRedis.startOwn();
         LogCapture logs = LogCapture.root();
         SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, settings);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS, settings);
         SluiceFixture odd = SluiceFixture.start(redis.uri(), LIMITS.replace("\"capacity\": 5", "\"capacity\": 6"), settings)) {
      WebDriver browser = new ChromeDriver(service, options);
      try {
        String base = "http://127.0.0.1:" + a.httpPort();
        browser.get(base + "/console");
        assertThat(browser.findElement(By.tagName("h1")).getText()).isEqualTo("Sluice console");
        screenshot(browser, "login");
        browser.findElement(By.id("token")).sendKeys("a-wrong-token-of-some-length");
        browser.findElement(By.id("login")).click();
        Await.until("the refusal", Duration.ofSeconds(10), () -> !browser.findElements(By.id("login-error")).isEmpty());
        assertThat(browser.findElement(By.id("login-error")).getText()).contains("opens no admin API");
        browser.findElement(By.id("token")).sendKeys(ALICE);
        browser.findElement(By.id("login")).click();

        // The fleet: three live instances, the one with other limits marked.
        Await.until("the fleet of three", Duration.ofSeconds(20), () -> browser.findElements(By.cssSelector("#fleet-rows tr")).size() == 3);
        assertThat(browser.getCurrentUrl()).isEqualTo(base + "/console").doesNotContain(ALICE);
        Await.until("the instance with other limits marked", Duration.ofSeconds(10),
            () -> browser.findElements(By.cssSelector("#fleet-rows tr.disagrees")).size() == 1);
        assertThat(browser.findElement(By.cssSelector("#fleet-rows tr.disagrees")).getText()).contains("127.0.0.1:" + odd.port())
            .contains("disagrees with the fleet");
        Await.until("every instance ready, Redis up", Duration.ofSeconds(10),
            () -> browser.findElements(By.cssSelector("#fleet-rows td.good")).size() == 6);
        screenshot(browser, "fleet");

        // Decisions, the fleet's: traffic on login through another instance moves its chart here.
        browser.findElement(By.cssSelector("[data-page=decisions]")).click();
        Await.until("the fleet's decisions read", Duration.ofSeconds(10),
            () -> browser.findElement(By.id("status")).getText().contains("by the fleet (3 instance(s) reporting)"));
        String caller = "chart-" + UUID.randomUUID().toString().substring(0, 8);
        for (int i = 0; i < 7; i++) {
          b.check(caller, "login");
        }
        By loginChart = By.cssSelector("#decision-charts [data-rule='login']");
        Await.until("login's chart to show the five allowed and two denied", Duration.ofSeconds(15), () -> {
          List<WebElement> charts = browser.findElements(loginChart);
          return !charts.isEmpty() && Integer.parseInt(charts.get(0).getAttribute("data-allowed")) >= 5
              && Integer.parseInt(charts.get(0).getAttribute("data-denied")) >= 2;
        });
        assertThat(browser.findElement(loginChart).findElements(By.tagName("canvas"))).as("drawn by the charting library").isNotEmpty();
        // A user refused again and again stands out among the most refused.
        for (int i = 0; i < 40; i++) {
          b.check(caller, "login");
        }
        Await.until("the caller among the most refused", Duration.ofSeconds(10),
            () -> !browser.findElements(By.cssSelector("#top-limited tr[data-user='" + caller + "']")).isEmpty());
        screenshot(browser, "decisions");
        // This instance's own: it decided nothing, so the fleet's chart of login is gone.
        browser.findElement(By.cssSelector("#decisions-scope option[value=instance]")).click();
        Await.until("this instance's decisions read", Duration.ofSeconds(10),
            () -> browser.findElement(By.id("status")).getText().contains("0 rule(s) decided on this instance"));
        assertThat(browser.findElements(loginChart)).isEmpty();

        // A ban made by a rule, then one made in the page; the CLI sees it; unban, confirmed; the CLI sees that too.
        String rogue = "rogue-" + UUID.randomUUID().toString().substring(0, 8);
        a.check(rogue, "card");
        a.check(rogue, "card");
        String user = "console-" + UUID.randomUUID().toString().substring(0, 8);
        browser.findElement(By.cssSelector("[data-page=bans]")).click();
        browser.findElement(By.id("new-ban-user")).sendKeys(user);
        browser.findElement(By.id("new-ban-action")).sendKeys("login");
        browser.findElement(By.id("new-ban-reason")).sendKeys("seen trying passwords");
        browser.findElement(By.id("ban-submit")).click();
        By row = By.cssSelector("#ban-rows tr[data-user='" + user + "']");
        Await.until("the ban listed", Duration.ofSeconds(10), () -> !browser.findElements(row).isEmpty());
        String target = "127.0.0.1:" + b.port();
        assertThat(Cli.run("bans", "--target", target, "--token", ALICE, "--user", user).out()).contains("user=" + user + " action=login")
            .contains("reason=\"seen trying passwords\"");
        browser.findElement(row).findElement(By.className("history")).click();
        Await.until("the user's history", Duration.ofSeconds(10),
            () -> browser.findElements(By.id("ban-history-rows")).stream().anyMatch(rows -> rows.getText().contains("alice console ban")));
        assertThat(browser.findElement(By.id("ban-history-rows")).getText()).contains("seconds=600 reason=seen trying passwords");
        browser.findElement(By.cssSelector("#ban-rows tr[data-user='" + rogue + "']")).findElement(By.className("history")).click();
        Await.until("the ban the rule made, in its user's history", Duration.ofSeconds(10),
            () -> !browser.findElements(By.cssSelector("#ban-history-rows tr[data-via='rule']")).isEmpty());
        assertThat(browser.findElement(By.cssSelector("#ban-history-rows tr[data-via='rule']")).getText()).contains("rule card rule ban every action 1 ok")
            .contains("1 violations of rule card within 60s; banned for 600 s");
        screenshot(browser, "bans");
        browser.findElement(row).findElement(By.className("unban")).click();
        WebElement confirm = browser.findElement(row).findElement(By.className("confirm-unban"));
        assertThat(confirm.getText()).isEqualTo("Confirm unban of " + user);
        confirm.click();
        Await.until("the ban gone from the page", Duration.ofSeconds(10), () -> browser.findElements(row).isEmpty());
        assertThat(Cli.run("bans", "--target", target, "--token", ALICE, "--user", user).out()).contains("no active bans");

        // The audit trail: both, by alice, through the console.
        browser.findElement(By.cssSelector("[data-page=audit]")).click();
        Await.until("the audit trail", Duration.ofSeconds(10), () -> browser.findElement(By.id("audit-rows")).getText().contains(user));
        String audit = browser.findElement(By.id("audit-rows")).getText();
        assertThat(audit).contains("alice console unban " + user + " login ok").contains("alice console ban " + user + " login ok");
        screenshot(browser, "audit");

        // Limits: an invalid change is refused with its reasons and publishes nothing; a valid one shows
        // its diff, is published to the fleet (the version advances everywhere) and audited; a rollback restores it.
        browser.findElement(By.cssSelector("[data-page=limits]")).click();
        Await.until("the limits", Duration.ofSeconds(10), () -> browser.findElement(By.id("limits-document")).getText().contains("\"rules\""));
        WebElement change = browser.findElement(By.id("limits-change"));
        change.sendKeys("{\"rules\": {\"login\": {\"capacity\": -1, \"refillPerSecond\": 1}}}");
        browser.findElement(By.id("limits-publish")).click();
        Await.until("the refusal's reasons", Duration.ofSeconds(10), () -> !browser.findElements(By.id("limits-problems")).isEmpty());
        assertThat(browser.findElement(By.id("limits-problems")).getText()).contains("rules.login.capacity must be a whole number");
        assertThat(b.await(b.client().getLimits()).getPublishedVersion()).as("nothing published").isZero();
        change.clear();
        change.sendKeys("{\"rules\": {\"login\": {\"capacity\": 9, \"refillPerSecond\": 1}}}");
        browser.findElement(By.id("limits-check")).click();
        Await.until("the diff", Duration.ofSeconds(10), () -> !browser.findElements(By.id("limits-diff")).isEmpty());
        assertThat(browser.findElement(By.id("limits-diff")).getText()).contains("+ ").contains("\"capacity\": 9");
        screenshot(browser, "limits");
        browser.findElement(By.id("limits-publish")).click();
        Await.until("the fleet on version 1", Duration.ofSeconds(10), () -> b.await(b.client().getLimits()).getPublishedVersion() == 1
            && odd.await(odd.client().getLimits()).getPublishedVersion() == 1);
        change.clear();
        change.sendKeys("{\"rules\": {\"login\": {\"capacity\": 7, \"refillPerSecond\": 1}}}");
        browser.findElement(By.id("limits-publish")).click();
        Await.until("the fleet on version 2", Duration.ofSeconds(10), () -> b.await(b.client().getLimits()).getPublishedVersion() == 2);
        By first = By.cssSelector("#limits-history tr[data-version='1']");
        // The page reads the history again once the instance applied its publish: wait for that reading.
        Await.until("the history of versions", Duration.ofSeconds(10),
            () -> !browser.findElements(By.cssSelector("#limits-history tr[data-version='2']")).isEmpty());
        assertThat(browser.findElement(first).getText()).contains("alice");
        browser.findElement(first).findElement(By.className("rollback")).click();
        browser.findElement(first).findElement(By.className("confirm-rollback")).click();
        Await.until("the fleet back on version 1's limits, stored as version 3", Duration.ofSeconds(10), () -> {
          io.sluice.grpc.v1.LimitsStatus status = b.await(b.client().getLimits());
          return status.getPublishedVersion() == 3 && new JsonObject(status.getDocumentJson()).getJsonObject("rules").getJsonObject("login")
              .getInteger("capacity") == 9;
        });
        browser.findElement(By.cssSelector("[data-page=audit]")).click();
        Await.until("the publishes in the audit trail", Duration.ofSeconds(10),
            () -> browser.findElement(By.id("audit-rows")).getText().contains("limits.rollback"));
        assertThat(browser.findElement(By.id("audit-rows")).getText()).contains("alice console limits.publish")
            .contains("alice console limits.rollback").contains("refused");

        browser.findElement(By.id("logout")).click();
        Await.until("the login page again", Duration.ofSeconds(10), () -> !browser.findElements(By.id("token")).isEmpty());
      } finally {
        browser.quit();
        service.stop();
      }
      assertThat(logs.events()).noneMatch(event -> event.getFormattedMessage().contains(ALICE));
    }
  }

  private static void screenshot(WebDriver browser, String page) throws Exception {
    File shot = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), SCREENSHOTS.resolve("console-" + page + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }
}
