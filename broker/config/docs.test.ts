// The documented table of variables must be the one the schema generates.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { envTable } from "./index.ts";

test("docs/configuration.md holds the generated table of WATERSHED_* variables", async () => {
  const docs = await readFile(new URL("../../docs/configuration.md", import.meta.url), "utf8");
  assert.ok(
    docs.includes(envTable()),
    "run `npx watershed config env` and paste the table into docs/configuration.md",
  );
});
