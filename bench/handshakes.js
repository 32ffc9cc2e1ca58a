// Full TLS 1.3 mutual-TLS handshakes, back to back, `conc` at a time for `secs` seconds, against host:port; prints
// "<completed> <failed>". No session resumption (a fresh context per connection would be the same: Node never
// resumes unless given a session). ALPN offers h2 (HBONE needs it; HAProxy in mode tcp ignores it). A handshake
// counts once the server has finished its side too: TLS 1.3 lets the client finish first, so we wait for the
// server's first bytes after it (HTTP/2 SETTINGS from HBONE, a session ticket from HAProxy).
// Usage: node handshakes.js host port cert key ca conc secs
'use strict';
const tls = require('tls');
const fs = require('fs');
const [host, port, certFile, keyFile, caFile, conc, secs] = process.argv.slice(2);
const ctx = tls.createSecureContext({
  cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), ca: fs.readFileSync(caFile),
  minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
});
const end = Date.now() + Number(secs) * 1000;
let done = 0, failed = 0, running = 0;
function one() {
  if (Date.now() >= end) {
    if (--running === 0) { console.log(`${done} ${failed}`); }
    return;
  }
  let settled = false;
  const s = tls.connect({
    host, port: Number(port), secureContext: ctx, ALPNProtocols: ['h2'],
    checkServerIdentity: () => undefined, // identities are SPIFFE URIs, checked by the chain here, not by name
  });
  const finish = (ok) => {
    if (settled) { return; }
    settled = true;
    if (ok) { done++; } else { failed++; }
    s.destroy();
    setImmediate(one);
  };
  s.setTimeout(5000, () => finish(false));
  s.on('session', () => finish(true));
  s.on('data', () => finish(true));
  s.on('error', () => finish(false));
  s.on('close', () => finish(false));
}
for (let i = 0; i < Number(conc); i++) { running++; one(); }
