import { strict as assert } from "node:assert";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { partitionOf, topology } from "./topology.ts";

describe("partitionOf", () => {
  test("property: in range [0, partitions) and an integer", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.integer({ min: 1, max: 1024 }), (id, partitions) => {
        const partition = partitionOf(id, partitions);
        assert.ok(Number.isInteger(partition), String(partition));
        assert.ok(partition >= 0 && partition < partitions, `${partition} of ${partitions}`);
      }),
    );
  });

  test("property: deterministic for the same id and count", () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 1, max: 1024 }), (id, partitions) => {
        assert.equal(partitionOf(id, partitions), partitionOf(`${id}`, partitions));
      }),
    );
  });

  test("one partition puts everything in 0", () => {
    for (let i = 0; i < 100; i++) assert.equal(partitionOf(randomUUID(), 1), 0);
  });

  test("is stable across versions: known FNV-1a values", () => {
    // FNV-1a 32-bit: "" -> 0x811c9dc5, "a" -> 0xe40c292c.
    assert.equal(partitionOf("", 1024), 0x811c9dc5 % 1024);
    assert.equal(partitionOf("a", 1000), 0xe40c292c % 1000);
    assert.equal(partitionOf("foobar", 997), 0xbf9cf968 % 997);
  });

  test("different ids spread out: not all equal", () => {
    const seen = new Set(Array.from({ length: 64 }, () => partitionOf(randomUUID(), 16)));
    assert.ok(seen.size > 8, `only ${seen.size} partitions used`);
  });

  test("roughly uniform: 10,000 random uuids into 16 partitions, each gets 400..850", () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const partition = partitionOf(randomUUID(), 16);
      counts[partition] = (counts[partition] ?? 0) + 1;
    }
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      10_000,
    );
    for (const [partition, count] of counts.entries()) {
      assert.ok(count >= 400 && count <= 850, `partition ${partition} got ${count}: ${counts.join(",")}`);
    }
  });
});

describe("topology", () => {
  const topo = topology("ws", 16);

  test("stream names are the upper-cased prefix plus the role", () => {
    assert.deepEqual(topo.streams, {
      ingress: "WS_INGRESS",
      onprem: "WS_ONPREM",
      relay: "WS_RELAY",
      dlq: "WS_DLQ",
    });
    assert.equal(topology("acme2", 4).streams.relay, "ACME2_RELAY");
  });

  test("subjects carry the prefix and the partition", () => {
    assert.equal(topo.ingressSubject(3), "ws.ingress.3");
    assert.equal(topo.onpremSubject(0), "ws.onprem.0");
    assert.equal(topo.relaySubject(15), "ws.relay.15");
    assert.equal(topo.dlqSubject(7), "ws.dlq.7");
  });

  test("consumer names are per partition and distinct", () => {
    const names = new Set<string>();
    for (let p = 0; p < topo.partitions; p++) {
      names.add(topo.routerConsumer(p));
      names.add(topo.relayConsumer(p));
    }
    names.add(topo.storeConsumer);
    assert.equal(names.size, topo.partitions * 2 + 1);
    assert.equal(topo.routerConsumer(2), "router-2");
    assert.equal(topo.relayConsumer(2), "relay-2");
  });

  test("keeps prefix and partitions", () => {
    assert.equal(topo.prefix, "ws");
    assert.equal(topo.partitions, 16);
  });

  test("every partition's subject lies under the stream's wildcard", () => {
    for (const id of Array.from({ length: 50 }, () => randomUUID())) {
      const subject = topo.ingressSubject(partitionOf(id, topo.partitions));
      assert.match(subject, /^ws\.ingress\.(\d|1[0-5])$/);
    }
  });
});
