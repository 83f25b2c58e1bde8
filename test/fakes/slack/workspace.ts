// The workspace the fake simulates: its identity, users, tokens, channels and files.
// No HTTP here; the operations on messages and files live in messaging.ts, reading.ts and files.ts.
import { FakeSlackError } from "./errors.ts";
import { newId } from "./ids.ts";
import { TsClock } from "./ts.ts";
import type { MessageMetadata } from "./types.ts";

/** Who a token acts for. */
export interface Principal {
  readonly userId: string;
  /** Set for the app's bot tokens. */
  readonly botId: string | null;
  readonly isAdmin: boolean;
}

export interface StoredUser {
  readonly id: string;
  readonly name: string;
  readonly isAdmin: boolean;
  readonly isBot: boolean;
}

export interface StoredFile {
  readonly id: string;
  readonly name: string;
  title: string;
  /** The length announced to files.getUploadURLExternal, in bytes. */
  readonly size: number;
  /** Null until the bytes were uploaded. */
  bytes: Buffer | null;
  /** The uploader's user id. */
  readonly user: string;
  /** Unix seconds. */
  readonly created: number;
  readonly shares: { channel: string; ts: string }[];
}

export interface StoredMessage {
  readonly ts: string;
  text: string;
  readonly user: string;
  readonly botId: string | null;
  readonly username: string | null;
  /** The root's ts for replies, null for top-level messages. */
  readonly threadTs: string | null;
  /** Set on messages people typed in a Slack client. */
  readonly clientMsgId: string | null;
  edited: { user: string; ts: string } | null;
  readonly reactions: { name: string; users: string[] }[];
  metadata: MessageMetadata | null;
  readonly files: StoredFile[];
  deleted: boolean;
}

export interface StoredChannel {
  readonly id: string;
  readonly name: string;
  /** Unix seconds. */
  readonly created: number;
  readonly members: Set<string>;
  archived: boolean;
  readonly clock: TsClock;
  /** Every message ever posted, deleted ones included, in ts order. */
  readonly messages: StoredMessage[];
  readonly deletedTs: string[];
}

/** A change to the workspace that Slack would announce with an event. */
export type Change =
  | { kind: "posted"; channel: StoredChannel; message: StoredMessage }
  | { kind: "edited"; channel: StoredChannel; before: StoredMessage; after: StoredMessage; eventTs: string }
  | { kind: "deleted"; channel: StoredChannel; message: StoredMessage; eventTs: string }
  | {
      kind: "reacted";
      channel: StoredChannel;
      message: StoredMessage;
      user: string;
      name: string;
      eventTs: string;
    };

/** Slack's answer to an operation: a value and the changes it made, or an error string. */
export type Outcome<T> = { ok: true; value: T; changes: Change[] } | { ok: false; error: string };

export function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

export function succeed<T>(value: T, changes: Change[] = []): Outcome<T> {
  return { ok: true, value, changes };
}

interface TokenRecord {
  readonly principal: Principal;
  revoked: boolean;
}

export interface WorkspaceOptions {
  teamName: string;
  /** ms since the epoch. */
  now: () => number;
}

export class Workspace {
  readonly teamId = newId.team();
  readonly teamName: string;
  readonly teamDomain: string;
  readonly appId = newId.app();
  readonly botId = newId.bot();
  readonly botUserId: string;
  readonly botName = "watershed";
  readonly adminUserId: string;
  readonly now: () => number;

  readonly users = new Map<string, StoredUser>();
  readonly channels = new Map<string, StoredChannel>();
  readonly files = new Map<string, StoredFile>();
  /** Ids of files deleted with files.delete, in deletion order. */
  readonly deletedFiles: string[] = [];
  /** upload_url key → file id. */
  readonly uploads = new Map<string, string>();
  private readonly tokens = new Map<string, TokenRecord>();

  constructor(options: WorkspaceOptions) {
    this.teamName = options.teamName;
    this.teamDomain = options.teamName.toLowerCase().replace(/[^a-z0-9]+/g, "-") || "workspace";
    this.now = options.now;
    this.botUserId = this.addUser(this.botName, { isBot: true, isAdmin: false, id: newId.botUser() });
    this.adminUserId = this.addUser("admin", { isBot: false, isAdmin: true });
  }

  get botPrincipal(): Principal {
    return { userId: this.botUserId, botId: this.botId, isAdmin: false };
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  addUser(name: string, options: { isBot: boolean; isAdmin: boolean; id?: string }): string {
    let id = options.id ?? newId.user();
    while (this.users.has(id)) id = newId.user();
    this.users.set(id, { id, name, isAdmin: options.isAdmin, isBot: options.isBot });
    // Human users belong to every channel; the bot's membership is chosen per channel.
    if (!options.isBot) for (const channel of this.channels.values()) channel.members.add(id);
    return id;
  }

  addChannel(name: string, botIsMember: boolean): string {
    const bare = name.replace(/^#/, "");
    if (this.channelByName(bare) !== undefined) throw new FakeSlackError(`channel name taken: ${bare}`);
    let id = newId.channel();
    while (this.channels.has(id)) id = newId.channel();
    const members = new Set<string>();
    for (const user of this.users.values()) if (!user.isBot) members.add(user.id);
    if (botIsMember) members.add(this.botUserId);
    this.channels.set(id, {
      id,
      name: bare,
      created: this.nowSeconds(),
      members,
      archived: false,
      clock: new TsClock(this.now),
      messages: [],
      deletedTs: [],
    });
    return id;
  }

  /** A channel by id, or by name with or without "#", as Slack's `channel` arguments allow. */
  channel(idOrName: string | undefined): StoredChannel | undefined {
    if (idOrName === undefined || idOrName === "") return undefined;
    return this.channels.get(idOrName) ?? this.channelByName(idOrName.replace(/^#/, ""));
  }

  /** For test-side controls: the channel, or a FakeSlackError. */
  requireChannel(idOrName: string): StoredChannel {
    const channel = this.channel(idOrName);
    if (channel === undefined) throw new FakeSlackError(`no such channel: ${idOrName}`);
    return channel;
  }

  /** A live (not deleted) message of a channel by its ts. */
  liveMessage(channel: StoredChannel, ts: string | undefined): StoredMessage | undefined {
    if (ts === undefined) return undefined;
    return channel.messages.find((message) => message.ts === ts && !message.deleted);
  }

  /** Live replies to a thread root, oldest first. */
  replies(channel: StoredChannel, rootTs: string): StoredMessage[] {
    return channel.messages.filter((message) => message.threadTs === rootTs && !message.deleted);
  }

  issueToken(token: string, principal: Principal): void {
    this.tokens.set(token, { principal, revoked: false });
  }

  revoke(token: string): void {
    const record = this.tokens.get(token);
    if (record === undefined) throw new FakeSlackError("revoke: the fake never issued that token");
    record.revoked = true;
  }

  /** The errors every method shares (e.g. https://docs.slack.dev/reference/methods/auth.test): not_authed, invalid_auth, token_revoked. */
  authenticate(token: string | undefined): { ok: true; principal: Principal } | { ok: false; error: string } {
    if (token === undefined || token === "") return fail("not_authed");
    const record = this.tokens.get(token);
    if (record === undefined) return fail("invalid_auth");
    if (record.revoked) return fail("token_revoked");
    return { ok: true, principal: record.principal };
  }

  /** A human user acting in a Slack client, for the test-side user actions. */
  humanPrincipal(userId: string): Principal {
    const user = this.users.get(userId);
    if (user === undefined || user.isBot) throw new FakeSlackError(`no such human user: ${userId}`);
    return { userId, botId: null, isAdmin: user.isAdmin };
  }

  private channelByName(name: string): StoredChannel | undefined {
    for (const channel of this.channels.values()) if (channel.name === name) return channel;
    return undefined;
  }
}

/** Bot tokens act for the app's messages only; user tokens for the user's own messages. */
export function isAuthor(principal: Principal, message: StoredMessage): boolean {
  if (principal.botId !== null) return message.botId === principal.botId;
  return message.botId === null && message.user === principal.userId;
}

/** A copy that later edits do not reach, for `previous_message`. */
export function snapshot(message: StoredMessage): StoredMessage {
  return {
    ...message,
    edited: message.edited === null ? null : { ...message.edited },
    reactions: message.reactions.map((reaction) => ({ name: reaction.name, users: [...reaction.users] })),
    files: [...message.files],
  };
}
