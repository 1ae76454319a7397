// poolifier's cluster worker (a child process): the same named task functions. CommonJS,
// because a cluster worker written as an ES module never answered here (poolifier 5.3.2);
// Node 20.19+ lets it require the shared ES module.
const { ClusterWorker } = require("poolifier");
const { fib, inc, incAll, spin, sumArray } = require("./tasks.mjs");

module.exports = new ClusterWorker({ inc, incAll, fib, sumArray, spin });
