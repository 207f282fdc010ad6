#!/usr/bin/env node
// Ask Sluice whether a user may act, as a Node backend would: one Check with a deadline.
//
//   npm ci
//   node check.js --target 127.0.0.1:50051 --user alice --action login
//
// Prints what the backend would answer its user and exits 0 (go ahead: HTTP 200), 1 (too fast: 429
// with Retry-After), 2 (banned: 403), or 3 when Sluice could not be asked in time: then this backend
// goes ahead (fail open), since a page that is down because the rate limiter is hurts more than a
// few unlimited attempts. Choose otherwise where abuse costs more.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const DEADLINE_MS = 250;
const PROTO = path.join(__dirname, '..', '..', 'src', 'main', 'proto', 'sluice.proto');

function option(name, fallback) {
  const at = process.argv.indexOf('--' + name);
  if (at >= 0 && at + 1 < process.argv.length) {
    return process.argv[at + 1];
  }
  if (fallback === undefined) {
    console.error('--' + name + ' is required');
    process.exit(64);
  }
  return fallback;
}

const definition = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, enums: String, defaults: true });
const sluice = grpc.loadPackageDefinition(definition).sluice.v1;
const limiter = new sluice.RateLimiter(option('target', '127.0.0.1:50051'), grpc.credentials.createInsecure());
const request = { userId: option('user'), action: option('action'), cost: Number(option('cost', '1')) };

limiter.Check(request, { deadline: new Date(Date.now() + DEADLINE_MS) }, (error, answer) => {
  limiter.close();
  if (error) {
    if (error.code === grpc.status.INVALID_ARGUMENT) {
      console.log('400 ' + error.details);
      process.exit(4);
    }
    console.log('200 (sluice not asked: ' + grpc.status[error.code] + '; failing open)');
    process.exit(3);
  }
  const retryAfter = Math.ceil(answer.retryAfterMs / 1000);
  if (answer.decision === 'ALLOW') {
    console.log('200 rule=' + answer.rule + ' remaining=' + answer.remaining);
    process.exit(0);
  }
  if (answer.decision === 'DENY') {
    console.log('429 Retry-After: ' + retryAfter + ' rule=' + answer.rule);
    process.exit(1);
  }
  console.log('403 banned for ' + retryAfter + ' s: ' + answer.banReason);
  process.exit(2);
});
