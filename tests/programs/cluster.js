// A Node.js cluster server, the way Node services scale: the primary forks workers that all
// listen on one port. On Linux the primary owns the listening socket, accepts, and hands each
// connection to a worker over the IPC channel (SCM_RIGHTS). A client may close before the
// reply is written: the reset that follows is ignored, and the connection still counts.
//
//     node cluster.js PORT WORKERS CONNECTIONS
//
// Writes `ready` to stderr once every worker listens, serves CONNECTIONS connections, and
// exits 0.
const cluster = require('node:cluster');
const net = require('node:net');

const [port, workers, connections] = process.argv.slice(2).map(Number);

if (cluster.isPrimary) {
  let listening = 0;
  let served = 0;
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    worker.on('listening', () => {
      listening += 1;
      if (listening === workers) process.stderr.write('ready\n');
    });
    worker.on('message', () => {
      served += 1;
      if (served === connections) {
        for (const w of Object.values(cluster.workers)) w.disconnect();
      }
    });
  }
} else {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end('served by ' + process.pid + '\n');
    socket.on('close', () => process.send('served'));
  });
  server.listen(port);
}
