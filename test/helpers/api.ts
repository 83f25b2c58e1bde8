// A small client of the HTTP API for tests.
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  contentType: string | null;
  body: T;
}

export class Api {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  as(token: string): Api {
    return new Api(this.baseUrl, token);
  }

  at(baseUrl: string): Api {
    return new Api(baseUrl, this.token);
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: (text ? JSON.parse(text) : null) as T,
    };
  }

  async createConversation(body: {
    title?: string;
    labels?: string[];
    members?: { id: string }[];
  }): Promise<string> {
    const response = await this.request<{ id: string }>("POST", "/v1/conversations", body);
    if (response.status !== 201)
      throw new Error(`create conversation: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.id;
  }

  /** The conversation's live sticky flag, as `GET /v1/conversations/{id}` reports it. */
  async isSensitive(conversationId: string): Promise<boolean> {
    const response = await this.request<{ sensitivity: { sensitive: boolean } }>(
      "GET",
      `/v1/conversations/${conversationId}`,
    );
    if (response.status !== 200)
      throw new Error(`get conversation: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.sensitivity.sensitive;
  }

  async post(conversationId: string, body: Record<string, unknown>): Promise<string> {
    const response = await this.request<{ id: string }>(
      "POST",
      `/v1/conversations/${conversationId}/messages`,
      body,
    );
    if (response.status !== 202)
      throw new Error(`post message: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.id;
  }
}

export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
