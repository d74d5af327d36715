// Summarizes V8 CPU profiles (node --cpu-prof) by function and by file.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/src/cli/bin.js switch model.json --state-dir /tmp/s
//   node --import tsx bench/profile-summary.ts /tmp/prof/*.cpuprofile [--top 25] [--callers 3]
import { summarizeProfile } from "./lib/cpuprofile.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const top = option("--top", 25);
const callers = option("--callers", 3);
const files = args.filter((arg, i) => !arg.startsWith("--") && !["--top", "--callers"].includes(args[i - 1] ?? ""));
for (const file of files) process.stdout.write(`${summarizeProfile(file, { top, callers })}\n\n`);
