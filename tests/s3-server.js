// The S3 API server of the remote tests: node s3-server.js DIR PORT
// serves bucket "hexz" from DIR on 127.0.0.1:PORT (path-style), checking
// SigV4 signatures for the account S3RVER / S3RVER, and prints "ready".
const path = require('path');
const S3rver = require(path.join(process.env.HEXZ_NPM_DIR || '/opt/hexz-npm', 'node_modules/@20minutes/s3rver'));
const [dir, port] = process.argv.slice(2);
new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: 'hexz' }],
}).run().then(() => console.log('ready'), (e) => { console.error(String(e)); process.exit(1); });
