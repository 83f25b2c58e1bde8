// Rolling policies out on two running broker instances: activation through the API switches
// both within a second, refused candidates change nothing, rollback, shadow mode records
// differences without changing a route, and declassification is an audited admin action.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startBroker, type Broker } from "../../broker/app.ts";
import { verifyAuditChain } from "../../broker/db/audit.ts";
import { verifyDecisionChains } from "../../broker/db/decision-chain.ts";
import { defaultPolicyPath } from "../../policies/index.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import { createTestDatabase, deleteStreams, randomPrefix, type TestDatabase } from "../helpers/services.ts";

const secret = "rollout-test-webhook-secret";

/** The default policy with one more sensitive label and a new version. */
async function policyWith(version: string, extraLabel: string): Promise<string> {
  const base = await readFile(defaultPolicyPath, "utf8");
  const withVersion = base.replace(/^version: .*$/m, `version: ${version}`);
  assert.notEqual(withVersion, base, "the default policy has a version line");
  return withVersion.replace(/any: \[confidential,/, `any: [${extraLabel}, confidential,`);
}

describe("policy rollout", () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let a: Broker;
  let b: Broker;
  let admin: Api;
  let user: Api;
  const prefix = randomPrefix();

  before(async () => {
    db = await createTestDatabase();
    const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
    receiver = await startWebhookReceiver({ secret });
    const config = testConfig({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      webhook: { url: receiver.url, secret },
    });
    a = await startBroker(config);
    b = await startBroker(config);
    admin = new Api(a.url, await keys.token("sam", ["security-admin"]));
    user = new Api(b.url, await keys.token("alice"));
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await receiver?.close();
    await deleteStreams(prefix);
    await db?.drop();
  });

  async function routing(
    api: Api,
    id: string,
  ): Promise<{ zone: string; policyVersion: string; rules: string[] }> {
    let found: { zone: string; policyVersion: string; rules: string[] } | null = null;
    await waitUntil(
      async () => {
        const response = await api.request<{ routing: typeof found }>("GET", `/v1/messages/${id}`);
        found = response.status === 200 ? response.body.routing : null;
        return found !== null;
      },
      15_000,
      `routing of ${id}`,
    );
    return found as unknown as { zone: string; policyVersion: string; rules: string[] };
  }

  const activeOn = async (broker: Broker) =>
    (await admin.at(broker.url).request<{ active: { version: string } }>("GET", "/v1/policy")).body.active
      .version;

  test("only a security admin may change policies", async () => {
    const response = await user.request("PUT", "/v1/policy", { policy: await policyWith("x-1", "x") });
    assert.equal(response.status, 403);
    assert.equal(response.body.type, "urn:watershed:problem:forbidden");
  });

  test("an invalid policy is refused with located errors and changes nothing", async () => {
    const before = await admin.request<{ versions: unknown[] }>("GET", "/v1/policy/versions");
    const response = await admin.request<{
      type: string;
      errors: Array<{ path: string; line: number; column: number }>;
    }>("PUT", "/v1/policy", { policy: "version: broken\nrules:\n  - id: r\n    outcome: maybe\n" });
    assert.equal(response.status, 422);
    assert.equal(response.body.type, "urn:watershed:problem:invalid-policy");
    assert.ok(response.body.errors.some((e) => e.path === "rules.0.outcome" && e.line === 4));
    const afterwards = await admin.request<{ versions: unknown[] }>("GET", "/v1/policy/versions");
    assert.equal(afterwards.body.versions.length, before.body.versions.length);
  });

  test("a policy failing its own tests is refused with the diff", async () => {
    const policy = await policyWith("tested-1", "project-y");
    const tests = `cases:
  - name: project-y is sensitive
    conversation: {labels: [project-y]}
    message: {sender: {id: a}, text: hello}
    expect: {zone: cloud}
`;
    const response = await admin.request<{ type: string; failures: Array<{ name: string; diff: string }> }>(
      "PUT",
      "/v1/policy",
      { policy, tests },
    );
    assert.equal(response.status, 422);
    assert.equal(response.body.type, "urn:watershed:problem:policy-tests-failed");
    assert.equal(response.body.failures[0]?.name, "project-y is sensitive");
    assert.match(response.body.failures[0]?.diff ?? "", /onprem/);
    assert.notEqual(await activeOn(a), "tested-1");
  });

  test("activating a version switches both instances within a second, and rollback returns", async () => {
    const initial = await activeOn(a);
    const conversation = await user.createConversation({ title: "project x", labels: ["project-x"] });
    const first = await user.post(conversation, { text: "before" });
    assert.equal((await routing(user, first)).zone, "cloud");

    const put = await admin.request("PUT", "/v1/policy", {
      policy: await policyWith("rollout-2", "project-x"),
      comment: "project x is secret",
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(await activeOn(a), "rollout-2");
    assert.equal(await activeOn(b), "rollout-2");
    const second = await user.post(conversation, { text: "after" });
    const decided = await routing(user, second);
    assert.equal(decided.zone, "onprem");
    assert.equal(decided.policyVersion, "rollout-2");
    assert.deepEqual(decided.rules, ["sensitive-labels"]);

    const rollback = await admin.request<{ active: { version: string } }>("POST", "/v1/policy/rollback", {});
    assert.equal(rollback.status, 200);
    assert.equal(rollback.body.active.version, initial);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(await activeOn(b), initial);
    // Sticky: the conversation stays sensitive even though the rolled-back policy would not say so.
    const third = await user.post(conversation, { text: "after rollback" });
    assert.deepEqual((await routing(user, third)).rules, ["sticky"]);
  });

  test("shadow mode records where a candidate differs without changing any route", async () => {
    const put = await admin.request("PUT", "/v1/policy/shadow", {
      policy: await policyWith("shadow-1", "shadowy"),
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const conversation = await user.createConversation({ title: "shadowed", labels: ["shadowy"] });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await user.post(conversation, { text: `shadowed ${i}` }));
    await receiver.waitFor((r) => ids.every((id) => r.uniqueMessages().some((m) => m.id === id)), 15_000);
    for (const id of ids)
      assert.equal((await routing(user, id)).zone, "cloud", "the active policy still decides");

    const summary = await admin.request<{
      summary: {
        differences: number;
        byChange: Record<string, number>;
        byShadowRule: Record<string, number>;
      };
    }>("GET", "/v1/policy/shadow");
    assert.equal(summary.status, 200);
    assert.equal(summary.body.summary.byChange["cloud->onprem"], 5);
    assert.equal(summary.body.summary.byShadowRule["sensitive-labels"], 5);
    const conversationState = await user.request<{ sensitivity: { sensitive: boolean } }>(
      "GET",
      `/v1/conversations/${conversation}`,
    );
    assert.equal(conversationState.body.sensitivity.sensitive, false, "shadow never makes anything sticky");

    const off = await admin.request("DELETE", "/v1/policy/shadow");
    assert.equal(off.status, 204);
  });

  test("explain shows the rule that fired", async () => {
    const response = await admin.request<{ text: string; policyVersion: string }>(
      "POST",
      "/v1/policy/explain",
      {
        text: "quarterly report",
        conversation: { labels: ["hr"] },
      },
    );
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.match(response.body.text, /sensitive-labels/);
  });

  test("declassification needs the role and a reason, is audited, and the audit chain holds", async () => {
    const conversation = await user.createConversation({ title: "was secret", labels: ["legal"] });
    const first = await user.post(conversation, { text: "privileged" });
    assert.equal((await routing(user, first)).zone, "onprem");
    await user.request("PATCH", `/v1/conversations/${conversation}`, { labels: [] });

    const path = `/v1/conversations/${conversation}/declassify`;
    assert.equal(
      (await user.request("POST", path, { reason: "the case is closed and public now" })).status,
      403,
    );
    const short = await admin.request("POST", path, { reason: "ok" });
    assert.equal(short.status, 400);
    const done = await admin.request<{ sensitivity: { sensitive: boolean } }>("POST", path, {
      reason: "the case is closed and public now",
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.sensitivity.sensitive, false);
    assert.equal(
      (await admin.request("POST", path, { reason: "the case is closed and public now" })).status,
      409,
    );

    const next = await user.post(conversation, { text: "now public" });
    assert.equal((await routing(user, next)).zone, "cloud");

    const audit = await admin.request<{
      entries: Array<{ action: string; actor: string; details: { reason?: string } }>;
      chain: { ok: boolean };
    }>("GET", `/v1/audit?subject=conversation:${conversation}`);
    assert.equal(audit.body.entries[0]?.action, "conversation.declassify");
    assert.equal(audit.body.entries[0]?.actor, "sam");
    assert.equal(audit.body.entries[0]?.details.reason, "the case is closed and public now");
    assert.equal(audit.body.chain.ok, true);
  });

  test("the audit log and the decisions refuse edits, and a forced edit breaks the chain", async () => {
    await assert.rejects(db.pool.query("UPDATE audit_log SET actor = 'mallory'"), /audit_log is append-only/);
    await assert.rejects(db.pool.query("DELETE FROM audit_log"), /append-only/);
    await assert.rejects(db.pool.query("TRUNCATE audit_log"), /append-only/);
    await assert.rejects(
      db.pool.query("UPDATE routing_decisions SET zone = 'cloud'"),
      /routing_decisions is append-only/,
    );
    await assert.rejects(db.pool.query("DELETE FROM routing_decisions"), /append-only/);
    assert.equal((await verifyAuditChain(db.pool)).ok, true);
    await db.pool.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    await db.pool.query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2");
    await db.pool.query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
    const check = await verifyAuditChain(db.pool);
    assert.deepEqual(check.ok ? null : check.brokenAt, 2);
  });

  test("routing decisions are hash-chained per partition, and a forced edit breaks the chain", async () => {
    const intact = await verifyDecisionChains(db.pool);
    assert.equal(intact.ok, true);
    assert.ok(intact.decisions >= 5, `${intact.decisions} decisions checked`);
    const audit = await admin.request<{ decisions: { ok: boolean } }>("GET", "/v1/audit?limit=1");
    assert.equal(audit.body.decisions.ok, true);

    const { rows } = await db.pool.query<{ chain_partition: number; chain_seq: string }>(
      "SELECT chain_partition, chain_seq FROM routing_decisions WHERE zone = 'onprem' ORDER BY chain_seq LIMIT 1",
    );
    const target = rows[0];
    assert.ok(target);
    await db.pool.query("ALTER TABLE routing_decisions DISABLE TRIGGER routing_decisions_append_only");
    await db.pool.query(
      "UPDATE routing_decisions SET zone = 'cloud' WHERE chain_partition = $1 AND chain_seq = $2",
      [target.chain_partition, target.chain_seq],
    );
    await db.pool.query("ALTER TABLE routing_decisions ENABLE TRIGGER routing_decisions_append_only");
    const broken = await verifyDecisionChains(db.pool);
    assert.deepEqual(broken.ok ? null : broken.brokenAt, {
      partition: target.chain_partition,
      seq: Number(target.chain_seq),
    });
  });
});
