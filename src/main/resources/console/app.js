// The console's page: the admin API of the instance it came from, as its session may use it.
// Everything from the server is shown with textContent, never parsed as HTML.
'use strict';

const api = '/console/api';
const pages = ['fleet', 'decisions', 'bans', 'limits', 'audit'];
const charts = new Map();
const seriesColors = { allowed: '#1e7b34', denied: '#d08a00', banned: '#b3261e', degraded: '#6a4fb3', shadowWouldBlock: '#1f6fb2' };
let timer = null;

function status(text, isError) {
  const line = document.getElementById('status');
  line.textContent = text;
  line.className = isError ? 'error' : '';
}

/**
 * One request of the console's API. {@code body} is sent as JSON, or as it is when it is text (a
 * limits change, checked by the instance). A failure says what the instance said: its reasons, whether
 * it was a refusal of bad input (nothing done), and whether Redis may have done it anyway.
 */
async function call(method, path, body) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    // The header a cross-site form cannot send: the instance refuses a change without it.
    options.headers['X-Sluice-Console'] = '1';
  }
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(api + path, options);
  if (response.status === 401) {
    window.location.assign('/console');
    throw new Error('the session ended: log in again');
  }
  let answer;
  try {
    answer = await response.json();
  } catch (e) {
    answer = { error: 'HTTP ' + response.status };
  }
  if (!response.ok) {
    const error = new Error(answer.error || ('HTTP ' + response.status));
    error.problems = answer.problems;
    error.refused = response.status === 400 || response.status === 413;
    error.maybeDone = answer.maybeDone === true;
    throw error;
  }
  return answer;
}

/**
 * A button that acts only on a second, explicit click, which its first click asks for: what it does
 * (an unban, a rollback) is not done by accident.
 */
function confirming(label, className, confirmLabel, work) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = className;
  button.textContent = label;
  button.addEventListener('click', () => {
    button.textContent = confirmLabel;
    button.className = 'confirm-' + className;
    button.addEventListener('click', () => act(work), { once: true });
  }, { once: true });
  return button;
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (className) {
    td.className = className;
  }
  row.appendChild(td);
  return td;
}

function rows(id, items, fill) {
  const body = document.getElementById(id);
  // The same rows as shown: left as they are, so that a button half-way through its confirmation stays.
  const signature = JSON.stringify(items);
  if (body.dataset.signature === signature) {
    return;
  }
  body.dataset.signature = signature;
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement('tr');
    fill(row, item);
    body.appendChild(row);
  }
}

async function showFleet() {
  const fleet = await call('GET', '/fleet');
  rows('fleet-rows', fleet.instances, (row, instance) => {
    row.dataset.instance = instance.id;
    if (!instance.agrees) {
      row.className = 'disagrees';
    }
    cell(row, instance.id);
    cell(row, instance.version);
    cell(row, instance.grpc);
    cell(row, instance.ready ? 'ready' : 'not ready', instance.ready ? 'good' : 'bad');
    cell(row, instance.redis ? 'up' : 'down', instance.redis ? 'good' : 'bad');
    cell(row, instance.breaker);
    cell(row, instance.inFlight);
    cell(row, (instance.limitsDigest || '?') + (instance.agrees ? '' : ' (disagrees with the fleet)'), instance.agrees ? '' : 'bad');
  });
  status(fleet.instances.length + ' live instance(s)');
}

function times(answer) {
  const end = Math.floor(answer.endMs / 1000);
  return Array.from({ length: answer.seconds }, (unused, i) => end - answer.seconds + 1 + i);
}

/** One chart per rule, made once and given new data at each refresh. */
async function showDecisions() {
  const scope = document.getElementById('decisions-scope').value;
  const answer = await call('GET', '/decisions?scope=' + scope);
  if (scope !== document.getElementById('decisions-scope').value) {
    // Asked before the scope changed: the other scope's numbers, not for these charts.
    return;
  }
  const x = times(answer);
  const holder = document.getElementById('decision-charts');
  for (const box of [...holder.querySelectorAll('[data-rule]')]) {
    if (!(box.dataset.rule in answer.rules)) {
      charts.get('rule:' + box.dataset.rule)?.destroy();
      charts.delete('rule:' + box.dataset.rule);
      box.remove();
    }
  }
  for (const [rule, series] of Object.entries(answer.rules)) {
    const names = Object.keys(series);
    const data = [x, ...names.map(name => series[name])];
    let chart = charts.get('rule:' + rule);
    if (!chart) {
      const box = document.createElement('div');
      box.className = 'chart';
      box.dataset.rule = rule;
      const title = document.createElement('h4');
      title.textContent = rule;
      box.appendChild(title);
      holder.appendChild(box);
      chart = new uPlot({
        width: Math.max(400, holder.clientWidth - 20), height: 180,
        series: [{}, ...names.map(name => ({ label: name, stroke: seriesColors[name] || '#555', width: 1.5 }))],
        axes: [{}, { label: 'per second' }],
      }, data, box);
      charts.set('rule:' + rule, chart);
    } else {
      chart.setData(data);
    }
    // What the chart shows, said where a test or a reader can read it.
    const box = holder.querySelector('[data-rule="' + CSS.escape(rule) + '"]');
    for (const name of names) {
      box.dataset[name] = String(series[name].reduce((sum, n) => sum + n, 0));
    }
  }
  const subjects = Object.keys(answer.throttle);
  const throttleBox = document.getElementById('throttle-chart');
  if (subjects.length === 0) {
    throttleBox.textContent = 'no subject is throttled';
  } else {
    const data = [x, ...subjects.map(subject => answer.throttle[subject])];
    let chart = charts.get('throttle');
    if (!chart || chart.series.length !== subjects.length + 1) {
      throttleBox.replaceChildren();
      chart = new uPlot({
        width: Math.max(400, throttleBox.clientWidth - 20), height: 160,
        series: [{}, ...subjects.map(subject => ({ label: subject, stroke: '#1f6fb2', width: 1.5 }))],
        scales: { y: { range: [0, 1.05] } },
      }, data, throttleBox);
      charts.set('throttle', chart);
    } else {
      chart.setData(data);
    }
  }
  for (const [id, top] of [['top-limited', answer.topLimited], ['top-shadow', answer.topShadow]]) {
    rows(id, top, (row, entry) => {
      row.dataset.user = entry.user;
      cell(row, entry.rule);
      cell(row, entry.user);
      cell(row, entry.refusals);
    });
  }
  status(Object.keys(answer.rules).length + ' rule(s) decided ' + (answer.scope === 'fleet'
      ? 'by the fleet (' + answer.instances + ' instance(s) reporting)' : 'on this instance'));
}

async function showBans() {
  const user = document.getElementById('ban-user').value;
  const answer = await call('GET', '/bans' + (user ? '?user=' + encodeURIComponent(user) : ''));
  rows('ban-rows', answer.bans, (row, ban) => {
    row.dataset.user = ban.user;
    cell(row, ban.user);
    cell(row, ban.action || 'every action');
    cell(row, Math.round(ban.remainingMs / 1000) + ' s');
    cell(row, ban.level);
    cell(row, ban.reason);
    const actions = cell(row, '');
    const history = document.createElement('button');
    history.type = 'button';
    history.className = 'history';
    history.textContent = 'History';
    history.addEventListener('click', () => act(() => showBanHistory(ban.user)));
    actions.appendChild(history);
    actions.appendChild(confirming('Unban', 'unban', 'Confirm unban of ' + ban.user, async () => {
      const query = '?user=' + encodeURIComponent(ban.user) + (ban.action ? '&action=' + encodeURIComponent(ban.action) : '');
      const done = await call('DELETE', '/bans' + query);
      await showBans();
      status('lifted ' + done.removed + ' ban(s) of ' + ban.user);
    }));
  });
  status(answer.bans.length + ' active ban(s)');
}

let limitsInForce = {};

/**
 * A user's history: the bans rules made (from the bans' stored history) and every ban and unban
 * operators made (from the audit trail, with who), newest first.
 */
async function showBanHistory(user) {
  const query = '?count=50&user=' + encodeURIComponent(user);
  const [audit, made] = await Promise.all([call('GET', '/audit' + query), call('GET', '/bans/history' + query)]);
  const holder = document.getElementById('ban-history');
  holder.replaceChildren();
  const title = document.createElement('h3');
  title.textContent = 'History of ' + user;
  const table = document.createElement('table');
  const head = document.createElement('thead');
  const heading = document.createElement('tr');
  for (const name of ['When', 'Made by', 'Through', 'Action', 'Of', 'Level', 'Outcome', 'Detail']) {
    const th = document.createElement('th');
    th.textContent = name;
    heading.appendChild(th);
  }
  head.appendChild(heading);
  const body = document.createElement('tbody');
  body.id = 'ban-history-rows';
  table.append(head, body);
  holder.append(title, table);
  const entries = [
    ...audit.entries.map(entry => ({ at: entry.at, by: entry.actor, via: entry.via, action: entry.action, of: entry.scope,
      level: entry.action === 'ban' ? '0 (manual)' : '', outcome: entry.outcome, detail: entry.detail })),
    ...made.entries.map(ban => ({ at: ban.at, by: 'rule ' + ban.rule, via: 'rule', action: 'ban', of: ban.action, level: String(ban.level),
      outcome: 'ok', detail: ban.reason + '; banned for ' + Math.round(ban.lengthMs / 1000) + ' s' })),
  ].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  rows('ban-history-rows', entries, (row, entry) => {
    row.dataset.via = entry.via;
    cell(row, entry.at);
    cell(row, entry.by);
    cell(row, entry.via);
    cell(row, entry.action);
    cell(row, entry.of || 'every action');
    cell(row, entry.level);
    cell(row, entry.outcome, entry.outcome === 'ok' ? 'good' : 'bad');
    cell(row, entry.detail);
  });
  status(made.entries.length + ' ban(s) made by rules, ' + audit.entries.length + ' admin action(s) on ' + user);
}

async function showLimits() {
  const limits = await call('GET', '/limits');
  limitsInForce = limits.limits;
  document.getElementById('limits-summary').textContent = 'version ' + limits.version + ', digest ' + limits.digest
      + ', published version ' + limits.publishedVersion + ', from ' + limits.source;
  document.getElementById('limits-document').textContent = JSON.stringify(limits.limits, null, 2);
  const history = await call('GET', '/limits/history');
  rows('limits-history', history.versions, (row, version) => {
    row.dataset.version = version.version;
    cell(row, version.version);
    cell(row, version.at);
    cell(row, version.actor);
    cell(row, JSON.stringify(version.overlay), 'overlay');
    const actions = cell(row, '');
    actions.appendChild(confirming('Roll back to this', 'rollback', 'Confirm: the fleet goes back to version ' + version.version,
        async () => {
          const done = await call('POST', '/limits/rollback', { version: version.version });
          status('rolled back to version ' + version.version + ': stored as version ' + done.version);
          await refreshLimitsSoon();
        }));
  });
  status('limits in force on this instance');
}

/** The instance applies what it published a moment later, from the channel. */
async function refreshLimitsSoon() {
  await new Promise(resolve => setTimeout(resolve, 500));
  await showLimits();
}

/** The document in force against the one after the change, line by line, with two lines of context around each change. */
function showDiff(before, after) {
  const wholeOld = JSON.stringify(before, null, 2).split('\n');
  const wholeNext = JSON.stringify(after, null, 2).split('\n');
  // A change is most often in one place: the lines both share at the start and the end are left out
  // of the comparison, whose table grows with the product of what remains (capped).
  let head = 0;
  while (head < wholeOld.length && head < wholeNext.length && wholeOld[head] === wholeNext[head]) {
    head++;
  }
  let tail = 0;
  while (tail < wholeOld.length - head && tail < wholeNext.length - head
      && wholeOld[wholeOld.length - 1 - tail] === wholeNext[wholeNext.length - 1 - tail]) {
    tail++;
  }
  const context = Math.min(head, 2);
  const old = wholeOld.slice(head - context, wholeOld.length - tail + Math.min(tail, 2));
  const next = wholeNext.slice(head - context, wholeNext.length - tail + Math.min(tail, 2));
  if (old.length * next.length > 4000000) {
    const result = document.getElementById('limits-result');
    const pre = document.createElement('pre');
    pre.id = 'limits-diff';
    pre.textContent = 'the change is too large to compare line by line; the limits it makes:\n' + wholeNext.join('\n');
    result.replaceChildren(pre);
    return;
  }
  // The longest common subsequence, from the end: common[i][j] for old[i..] and next[j..].
  const common = Array.from({ length: old.length + 1 }, () => new Array(next.length + 1).fill(0));
  for (let i = old.length - 1; i >= 0; i--) {
    for (let j = next.length - 1; j >= 0; j--) {
      common[i][j] = old[i] === next[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < old.length || j < next.length) {
    if (i < old.length && j < next.length && old[i] === next[j]) {
      lines.push({ kind: ' ', text: old[i++] });
      j++;
    } else if (i < old.length && (j === next.length || common[i + 1][j] >= common[i][j + 1])) {
      lines.push({ kind: '-', text: old[i++] });
    } else {
      lines.push({ kind: '+', text: next[j++] });
    }
  }
  const near = lines.map((line, at) => lines.slice(Math.max(0, at - 2), at + 3).some(other => other.kind !== ' '));
  const result = document.getElementById('limits-result');
  result.replaceChildren();
  const pre = document.createElement('pre');
  pre.id = 'limits-diff';
  let shown = false;
  lines.forEach((line, at) => {
    if (!near[at]) {
      return;
    }
    const div = document.createElement('div');
    div.className = line.kind === '+' ? 'diff-added' : line.kind === '-' ? 'diff-removed' : '';
    div.textContent = line.kind + ' ' + line.text;
    pre.appendChild(div);
    shown = true;
  });
  if (!shown) {
    pre.textContent = 'no change to the limits in force';
  }
  result.appendChild(pre);
}

function showProblems(error) {
  const result = document.getElementById('limits-result');
  result.replaceChildren();
  const list = document.createElement('ul');
  list.id = 'limits-problems';
  for (const problem of error.problems || [error.message]) {
    const item = document.createElement('li');
    item.textContent = problem;
    list.appendChild(item);
  }
  result.appendChild(list);
}

function notPublished(e) {
  showProblems(e);
  status(e.refused ? 'refused: nothing was published'
      : e.maybeDone ? 'not known: Redis did not answer in time, the change may or may not be published; look at the history'
      : 'not published: ' + e.message, true);
}

async function showAudit() {
  const audit = await call('GET', '/audit?count=100');
  rows('audit-rows', audit.entries, (row, entry) => {
    cell(row, entry.at);
    cell(row, entry.actor);
    cell(row, entry.via);
    cell(row, entry.action);
    cell(row, entry.user);
    cell(row, entry.scope);
    cell(row, entry.outcome, entry.outcome === 'ok' ? 'good' : 'bad');
    cell(row, entry.detail);
  });
  status(audit.entries.length + ' admin action(s)');
}

const shows = { fleet: showFleet, decisions: showDecisions, bans: showBans, limits: showLimits, audit: showAudit };

async function act(work) {
  try {
    await work();
  } catch (e) {
    status(e.message, true);
  }
}

function open(page) {
  for (const name of pages) {
    document.getElementById(name).classList.toggle('active', name === page);
    document.querySelector('[data-page="' + name + '"]').classList.toggle('active', name === page);
  }
  clearInterval(timer);
  act(shows[page]);
  if (page === 'fleet' || page === 'decisions') {
    timer = setInterval(() => act(shows[page]), 2000);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => open(tab.dataset.page));
  }
  document.getElementById('decisions-scope').addEventListener('change', () => {
    // The other scope's series are other numbers: its charts start anew.
    for (const key of [...charts.keys()]) {
      charts.get(key).destroy();
      charts.delete(key);
    }
    document.getElementById('decision-charts').replaceChildren();
    document.getElementById('throttle-chart').replaceChildren();
    act(showDecisions);
  });
  document.getElementById('ban-search').addEventListener('submit', event => {
    event.preventDefault();
    act(showBans);
  });
  document.getElementById('ban-form').addEventListener('submit', event => {
    event.preventDefault();
    act(async () => {
      const user = document.getElementById('new-ban-user').value;
      const ban = await call('POST', '/bans', {
        user,
        action: document.getElementById('new-ban-action').value,
        seconds: Number(document.getElementById('new-ban-seconds').value),
        reason: document.getElementById('new-ban-reason').value,
      });
      document.getElementById('ban-user').value = '';
      await showBans();
      status('banned ' + ban.user + ' for ' + Math.round(ban.remainingMs / 1000) + ' s');
    });
  });
  // The change last checked, and the stored version its diff was made against: publishing that very
  // text is refused if someone published in between, so what is published is what the diff showed.
  let checkedChange = null;
  let checkedVersion = null;
  document.getElementById('limits-check').addEventListener('click', async () => {
    try {
      const change = document.getElementById('limits-change').value;
      const checked = await call('POST', '/limits/check', change);
      checkedChange = change;
      checkedVersion = checked.storedVersion;
      showDiff(limitsInForce, checked.limits);
      status('valid: publishing it makes the fleet enforce the diff below');
    } catch (e) {
      notPublished(e);
    }
  });
  document.getElementById('limits-publish').addEventListener('click', async () => {
    try {
      const change = document.getElementById('limits-change').value;
      const published = await call('POST', '/limits' + (change === checkedChange ? '?expectedVersion=' + checkedVersion : ''), change);
      status('published: stored as version ' + published.version + ', heard by ' + published.receivers + ' instance(s)');
      await refreshLimitsSoon();
    } catch (e) {
      notPublished(e);
    }
  });
  open('fleet');
});
