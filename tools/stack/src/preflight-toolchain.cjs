// The first thing `make run` and `make test` do: is this Node.js inside package.json's
// `engines`, and is this make a GNU make with the features the Makefile uses? One line each on
// stderr; exit 1 when either is not.
//
// Plain CommonJS with nothing newer than ES2015 on purpose: it runs before anything is
// installed or built, on whatever Node.js is on PATH, however old — an old Node.js must get
// this message, not a SyntaxError from the check meant to explain it.
//
//   node preflight-toolchain.cjs --package package.json [--failures-only] \
//     --make-version "$(MAKE_VERSION)" --make-features "$(.FEATURES)" --make-needs "order-only …"
'use strict';
var fs = require('fs');

function option(name) {
  var at = process.argv.indexOf('--' + name);
  return at === -1 ? undefined : process.argv[at + 1];
}

function parts(version) {
  return String(version)
    .replace(/^v/, '')
    .split('.')
    .map(function (n) {
      return parseInt(n, 10) || 0;
    });
}

/** Negative when a < b, as dotted version numbers (missing parts count as 0). */
function compare(a, b) {
  var x = parts(a);
  var y = parts(b);
  for (var i = 0; i < Math.max(x.length, y.length); i += 1) {
    var d = (x[i] || 0) - (y[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The lowest Node.js version an `engines.node` range allows. Only `>=X[.Y[.Z]]` is understood:
 * anything else is reported, so a change to the range cannot pass unchecked.
 */
function minimumOf(range) {
  var match = /^\s*>=\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(range || '');
  return match ? match[1] : undefined;
}

function checkNode(packageFile) {
  var range;
  try {
    range = JSON.parse(fs.readFileSync(packageFile, 'utf8')).engines.node;
  } catch (error) {
    return { ok: false, line: 'Node.js: cannot read engines.node from ' + packageFile + ' (' + error.message + ')' };
  }
  var minimum = minimumOf(range);
  var running = process.versions.node;
  if (!minimum)
    return { ok: false, line: 'Node.js: package.json engines.node "' + range + '" is not a ">=X.Y.Z" range this check understands' };
  if (compare(running, minimum) < 0) {
    return {
      ok: false,
      line:
        'Node.js ' +
        running +
        ' is older than package.json engines ' +
        range +
        ': install Node.js ' +
        minimum +
        ' or newer (https://nodejs.org/en/download, or `nvm install ' +
        parts(minimum)[0] +
        '`) and put it first on PATH',
    };
  }
  return { ok: true, line: 'Node.js ' + running + ' ok (package.json engines ' + range + ')' };
}

function checkMake(version, features, needs) {
  if (!version) {
    return {
      ok: false,
      line: 'make: not GNU make (no MAKE_VERSION): install GNU make (Debian: `apt-get install make`, macOS: `xcode-select --install` or `brew install make`, then use `gmake`)',
    };
  }
  var have = (features || '').split(/\s+/);
  var missing = (needs || '').split(/\s+/).filter(function (f) {
    return f && have.indexOf(f) === -1;
  });
  if (missing.length > 0) {
    return {
      ok: false,
      line:
        'GNU make ' +
        version +
        ' lacks ' +
        missing.join(', ') +
        ' (the Makefile uses them): install GNU make 3.81 or newer ' +
        '(Debian: `apt-get install make`, macOS: `brew install make`, then use `gmake`)',
    };
  }
  return { ok: true, line: 'GNU make ' + version + ' ok (has ' + needs.split(/\s+/).filter(Boolean).join(', ') + ')' };
}

var results = [
  checkNode(option('package') || 'package.json'),
  checkMake(option('make-version'), option('make-features'), option('make-needs') || ''),
];
var failuresOnly = process.argv.indexOf('--failures-only') !== -1;
results.forEach(function (result) {
  if (!result.ok || !failuresOnly) process.stderr.write(result.line + '\n');
});
process.exit(
  results.every(function (result) {
    return result.ok;
  })
    ? 0
    : 1,
);
