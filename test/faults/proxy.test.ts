// The fault proxy on its own, against an echo server: each mode does what it says, and switching
// modes never loses or reorders bytes of a connection that survives.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { ProxyMode, startProxy, type TcpProxy } from "./proxy.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that collects what comes back. */
async function client(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<string> }> {
  const socket = connect({ host: "127.0.0.1", port });
  let text = "";
  socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const closed = new Promise<string>((resolve) => {
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.on("close", () => resolve("closed"));
  });
  await once(socket, "connect");
  return { socket, received: () => text, closed };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - started;
}

describe("fault proxy", () => {
  let echo: Server;
  let proxy: TcpProxy;
  const upstreamSockets = new Set<Socket>();

  before(async () => {
    echo = createServer((socket) => {
      upstreamSockets.add(socket);
      socket.on("close", () => upstreamSockets.delete(socket));
      socket.on("error", () => {});
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", () => resolve()));
    const address = echo.address();
    assert.ok(typeof address === "object" && address);
    proxy = await startProxy({ target: { host: "127.0.0.1", port: address.port } });
  });
  after(async () => {
    await proxy?.close();
    for (const socket of upstreamSockets) socket.destroy();
    await new Promise((resolve) => echo?.close(resolve));
  });

  test("pass forwards both ways at once", async () => {
    proxy.setMode(ProxyMode.pass);
    const c = await client(proxy.port);
    c.socket.write("hello");
    const took = await waitFor(() => c.received() === "hello", 2000, "the echo");
    assert.ok(took < 100, `echo took ${took} ms`);
    c.socket.destroy();
  });

  test("delay holds each chunk back, each way, and keeps the order", async () => {
    proxy.setMode(ProxyMode.delay(150));
    const c = await client(proxy.port);
    for (let i = 0; i < 20; i++) c.socket.write(`${i},`);
    const expected = Array.from({ length: 20 }, (_, i) => `${i},`).join("");
    const took = await waitFor(() => c.received() === expected, 3000, "the delayed echo");
    assert.ok(took >= 280, `a round trip through two 150 ms delays took only ${took} ms`);
    // Back to pass: what was delayed still comes first.
    c.socket.write("a");
    proxy.setMode(ProxyMode.pass);
    c.socket.write("b");
    await waitFor(() => c.received() === `${expected}ab`, 2000, "a then b");
    c.socket.destroy();
    proxy.setMode(ProxyMode.pass);
  });

  test("reset breaks open connections and refuses new ones until pass", async () => {
    proxy.setMode(ProxyMode.pass);
    const open = await client(proxy.port);
    open.socket.write("x");
    await waitFor(() => open.received() === "x", 2000, "the echo before the reset");
    const before = proxy.stats().reset;
    proxy.setMode(ProxyMode.reset);
    assert.equal(await open.closed, "ECONNRESET");
    const fresh = connect({ host: "127.0.0.1", port: proxy.port });
    const outcome = await new Promise<string>((resolve) => {
      fresh.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      fresh.on("close", () => resolve("closed"));
    });
    assert.ok(["ECONNRESET", "closed"].includes(outcome), outcome);
    assert.ok(proxy.stats().reset >= before + 2);
    proxy.setMode(ProxyMode.pass);
    const after = await client(proxy.port);
    after.socket.write("y");
    await waitFor(() => after.received() === "y", 2000, "the echo after the reset");
    after.socket.destroy();
  });

  test("blackhole answers nothing, then delivers what it held, in order, once it ends", async () => {
    proxy.setMode(ProxyMode.pass);
    const open = await client(proxy.port);
    proxy.setMode(ProxyMode.blackhole);
    open.socket.write("held-1;");
    // A connection made during the black hole is accepted, but does not reach the service.
    const upstreamBefore = upstreamSockets.size;
    const late = await client(proxy.port);
    late.socket.write("held-2;");
    await sleep(400);
    assert.equal(open.received(), "", "nothing came back during the black hole");
    assert.equal(late.received(), "");
    assert.equal(upstreamSockets.size, upstreamBefore, "no new connection reached the service");
    open.socket.write("held-3;");
    proxy.setMode(ProxyMode.pass);
    await waitFor(() => open.received() === "held-1;held-3;", 2000, "the held bytes of the open connection");
    await waitFor(() => late.received() === "held-2;", 2000, "the held bytes of the late connection");
    open.socket.destroy();
    late.socket.destroy();
  });

  test("a connection to a service that is down is closed, not left hanging", async () => {
    const down = await startProxy({ target: { host: "127.0.0.1", port: 1 } });
    try {
      const c = connect({ host: "127.0.0.1", port: down.port });
      const outcome = await new Promise<string>((resolve) => {
        c.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        c.on("close", () => resolve("closed"));
      });
      assert.ok(["ECONNRESET", "closed"].includes(outcome), outcome);
    } finally {
      await down.close();
    }
  });
});
