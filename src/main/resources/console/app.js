// The console's page: the admin API of the instance it came from, as its session may use it.
// Everything from the server is shown with textContent, never parsed as HTML.
'use strict';

const api = '/console/api';
const pages = ['fleet', 'bans', 'limits', 'audit'];
let timer = null;

function status(text, isError) {
  const line = document.getElementById('status');
  line.textContent = text;
  line.className = isError ? 'error' : '';
}

async function call(method, path, body) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    // The header a cross-site form cannot send: the instance refuses a change without it.
    options.headers['X-Sluice-Console'] = '1';
  }
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(api + path, options);
  if (response.status === 401) {
    window.location.assign('/console');
    throw new Error('the session ended: log in again');
  }
  const answer = await response.json();
  if (!response.ok) {
    throw new Error(answer.error || ('HTTP ' + response.status));
  }
  return answer;
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
    const unban = document.createElement('button');
    unban.type = 'button';
    unban.className = 'unban';
    unban.textContent = 'Unban';
    unban.addEventListener('click', () => {
      // A second, explicit click: an unban is not undone by accident.
      unban.textContent = 'Confirm unban of ' + ban.user;
      unban.className = 'confirm-unban';
      unban.addEventListener('click', () => act(async () => {
        const query = '?user=' + encodeURIComponent(ban.user) + (ban.action ? '&action=' + encodeURIComponent(ban.action) : '');
        const done = await call('DELETE', '/bans' + query);
        await showBans();
        status('lifted ' + done.removed + ' ban(s) of ' + ban.user);
      }), { once: true });
    }, { once: true });
    actions.appendChild(unban);
  });
  status(answer.bans.length + ' active ban(s)');
}

async function showLimits() {
  const limits = await call('GET', '/limits');
  document.getElementById('limits-summary').textContent = 'version ' + limits.version + ', digest ' + limits.digest
      + ', published version ' + limits.publishedVersion + ', from ' + limits.source;
  document.getElementById('limits-document').textContent = JSON.stringify(limits.limits, null, 2);
  status('limits in force on this instance');
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

const shows = { fleet: showFleet, bans: showBans, limits: showLimits, audit: showAudit };

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
  if (page === 'fleet') {
    timer = setInterval(() => act(showFleet), 2000);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => open(tab.dataset.page));
  }
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
  open('fleet');
});
