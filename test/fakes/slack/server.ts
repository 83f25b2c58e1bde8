// The fake's HTTP listener on loopback: routes requests, holds the ones an outage leaves unanswered,
// and closes everything, held sockets included.
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export interface HttpServer {
  readonly baseUrl: string;
  /** Leaves a request unanswered until its client gives up or the server closes. */
  hold(res: ServerResponse): void;
  close(): Promise<void>;
}

export async function startHttpServer(handle: RequestHandler): Promise<HttpServer> {
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    handle(req, res, url).catch((err: unknown) => {
      // A bug in the fake, not an outage on purpose: say so loudly.
      console.error("fake slack: request handler failed", err);
      if (!res.headersSent) sendText(res, 500, "fake slack failed");
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    hold(res) {
      held.add(res);
      res.once("close", () => held.delete(res));
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        for (const res of held) res.destroy();
        // Keep-alive and held sockets would otherwise keep close() waiting.
        server.closeAllConnections();
      });
    },
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}
