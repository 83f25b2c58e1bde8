#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so no build step is needed (see DESIGN.md: running TypeScript).
import { register } from "tsx/esm/api";

register();
await import("../broker/cli/main.ts");
