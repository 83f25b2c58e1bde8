// A broker child process as `startChildBroker` starts one, plus `node --cpu-prof`: the profile is
// written when the process exits normally (SIGTERM: `watershed start` closes, then exits 0).
import type { ConfigInput } from "../../broker/config/index.ts";
import { startChildBroker, type ChildBroker } from "../helpers/broker.ts";

export function startProfiledBroker(
  input: ConfigInput,
  profileDir: string,
  label = "profiled broker",
): Promise<ChildBroker> {
  return startChildBroker(input, label, ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]);
}
