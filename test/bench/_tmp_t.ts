import { benchClassifyCli } from "./classify-cli.ts";
const r = await benchClassifyCli({
  lines: Number(process.argv[2]),
  conversations: 1000,
  cardPercent: 30,
  stallTimeoutMs: 30000,
});
for (const s of r.samples)
  console.log(
    s.seconds.toFixed(1),
    s.linesOut,
    (s.rssBytes / 1048576).toFixed(0),
    (s.peakBytes / 1048576).toFixed(0),
  );
console.log(r.linesPerSecond, r.seconds, r.errors);
