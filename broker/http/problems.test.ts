import { readFile } from "node:fs/promises";
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { ProblemError, ProblemType, problemTypeBase } from "./problems.ts";

const types = Object.values(ProblemType);

describe("ProblemError", () => {
  test("the table has every problem type once, and docs/api.md documents each", async () => {
    assert.equal(new Set(types).size, types.length);
    const docs = await readFile(new URL("../../docs/api.md", import.meta.url), "utf8");
    for (const type of types) {
      // Prettier pads the table's columns, so the row is matched with any spacing.
      const row = new RegExp(String.raw`\|\s*\`${type}\`\s*\|\s*${new ProblemError(type).status}\s*\|`);
      assert.match(docs, row, `docs/api.md documents ${type}`);
    }
  });

  for (const type of types) {
    test(`'${type}' has a 4xx/5xx status and a title`, () => {
      const error = new ProblemError(type);
      assert.ok(Number.isInteger(error.status), `status ${error.status}`);
      assert.ok(error.status >= 400 && error.status <= 599, `status ${error.status}`);
      const body = error.toJSON("/v1/x");
      assert.equal(body.status, error.status);
      assert.equal(typeof body.title, "string");
      assert.ok((body.title as string).length > 0);
      assert.equal(error.message, body.title, "without a detail the message is the title");
      assert.equal(body.type, `urn:watershed:problem:${type}`);
      assert.ok((body.type as string).startsWith("urn:watershed:problem:"));
      assert.equal(body.instance, "/v1/x");
      assert.equal("detail" in body, false);
      assert.equal("errors" in body, false);
    });
  }

  test("the type base is the watershed URN", () => {
    assert.equal(problemTypeBase, "urn:watershed:problem:");
  });

  test("titles are distinct", () => {
    const titles = types.map((type) => new ProblemError(type).toJSON("/").title);
    assert.equal(new Set(titles).size, titles.length);
  });

  test("statuses match the HTTP meaning of well-known types", () => {
    const status = (type: ProblemType) => new ProblemError(type).status;
    assert.equal(status(ProblemType.unauthenticated), 401);
    assert.equal(status(ProblemType.notMember), 403);
    assert.equal(status(ProblemType.conversationNotFound), 404);
    assert.equal(status(ProblemType.bodyTooLarge), 413);
    assert.equal(status(ProblemType.unsupportedMediaType), 415);
    assert.equal(status(ProblemType.clientMsgIdConflict), 409);
    assert.equal(status(ProblemType.internal), 500);
    assert.equal(status(ProblemType.unavailable), 503);
    for (const type of [ProblemType.malformedJson, ProblemType.invalidBody, ProblemType.invalidParameter]) {
      assert.equal(status(type), 400);
    }
  });

  test("detail and field errors are carried into the JSON body", () => {
    const errors = [{ path: "text", message: "too long" }];
    const error = new ProblemError(ProblemType.invalidBody, "text: too long", errors);
    assert.equal(error.message, "text: too long");
    assert.equal(error.name, "ProblemError");
    assert.ok(error instanceof Error);
    const body = error.toJSON("/v1/conversations/c/messages");
    assert.deepEqual(body, {
      type: "urn:watershed:problem:invalid-body",
      title: "The request body does not match the schema",
      status: 400,
      detail: "text: too long",
      errors,
      instance: "/v1/conversations/c/messages",
    });
    assert.deepEqual(JSON.parse(JSON.stringify(body)), body);
  });
});
