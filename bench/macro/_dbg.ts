import library from "./poolifier.ts";
const workers = 2;
for (let round = 0; round < 30; round++) {
  const p = await library.open(workers);
  process.stderr.write(`r${round} open `);
  await Promise.all([0, 1].map((x) => p.inc(x)));
  process.stderr.write(`inc `);
  await p.close();
  process.stderr.write(`closed\n`);
}
