// Conditions compiled once into matchers. `test` is the hot path; `explain` gives the same answer
// with a short reason per node. Malformed input throws, so the evaluation fails closed.
import { compileGlob } from "./glob.ts";
import type { Detection } from "./model.ts";
import type { Condition, ConditionKind, DetectedCondition } from "./schema.ts";
import type { ConversationState, FileInput, MessageInput } from "./types.ts";

/** An evaluation's input with the scans already done: each text is scanned once. */
export interface EvaluationContext {
  conversation: ConversationState;
  message: MessageInput;
  detections: readonly Detection[];
  files: ReadonlyArray<{ file: FileInput; detections: readonly Detection[] }>;
}

export interface ConditionExplanation {
  /** Where the condition sits in the policy, e.g. `rules.1.when.all.0`. */
  path: string;
  kind: ConditionKind;
  matched: boolean;
  /** One line, e.g. "labels: conversation has [hr], wanted any of [finance, hr] → matched". */
  reason: string;
  children: ConditionExplanation[];
}

export interface CompiledCondition {
  test(context: EvaluationContext): boolean;
  explain(context: EvaluationContext): ConditionExplanation;
}

export interface ConditionScope {
  /** The policy's named member groups. */
  groups: Readonly<Record<string, readonly string[]>>;
}

export function compileCondition(
  condition: Condition,
  path: string,
  scope: ConditionScope,
): CompiledCondition {
  if (condition.all !== undefined) return compileAll(condition.all, path, scope);
  if (condition.any !== undefined) return compileAny(condition.any, path, scope);
  if (condition.not !== undefined) return compileNot(condition.not, path, scope);
  if (condition.labels) return labels(condition.labels, path);
  if (condition.title) return title(condition.title.glob, path);
  if (condition.members) return members(condition.members, path, scope);
  if (condition.externalParticipants !== undefined) return external(condition.externalParticipants, path);
  if (condition.boundTo) return boundTo(condition.boundTo, path);
  if (condition.sender) return sender(condition.sender, path);
  if (condition.detected) return detected(condition.detected, path);
  if (condition.file) return file(condition.file, path);
  throw new Error(`${path}: a condition needs exactly one key`);
}

function verdictWord(matched: boolean): string {
  return matched ? "matched" : "not matched";
}

function leaf(
  kind: ConditionKind,
  path: string,
  test: (context: EvaluationContext) => boolean,
  describe: (context: EvaluationContext) => string,
): CompiledCondition {
  return {
    test,
    explain(context) {
      const matched = test(context);
      return {
        path,
        kind,
        matched,
        reason: `${kind}: ${describe(context)} → ${verdictWord(matched)}`,
        children: [],
      };
    },
  };
}

function compileAll(
  conditions: readonly Condition[],
  path: string,
  scope: ConditionScope,
): CompiledCondition {
  const children = conditions.map((child, index) => compileCondition(child, `${path}.all.${index}`, scope));
  return {
    test: (context) => children.every((child) => child.test(context)),
    explain(context) {
      const explained = children.map((child) => child.explain(context));
      const hits = explained.filter((child) => child.matched).length;
      const matched = hits === explained.length;
      const reason = `all: ${hits} of ${explained.length} conditions matched, wanted every one → ${verdictWord(matched)}`;
      return { path, kind: "all", matched, reason, children: explained };
    },
  };
}

function compileAny(
  conditions: readonly Condition[],
  path: string,
  scope: ConditionScope,
): CompiledCondition {
  const children = conditions.map((child, index) => compileCondition(child, `${path}.any.${index}`, scope));
  return {
    test: (context) => children.some((child) => child.test(context)),
    explain(context) {
      const explained = children.map((child) => child.explain(context));
      const hits = explained.filter((child) => child.matched).length;
      const matched = hits > 0;
      const reason = `any: ${hits} of ${explained.length} conditions matched, wanted at least one → ${verdictWord(matched)}`;
      return { path, kind: "any", matched, reason, children: explained };
    },
  };
}

function compileNot(condition: Condition, path: string, scope: ConditionScope): CompiledCondition {
  const child = compileCondition(condition, `${path}.not`, scope);
  return {
    test: (context) => !child.test(context),
    explain(context) {
      const inner = child.explain(context);
      const matched = !inner.matched;
      const reason = `not: the inner condition ${verdictWord(inner.matched)} → ${verdictWord(matched)}`;
      return { path, kind: "not", matched, reason, children: [inner] };
    },
  };
}

function labels(wanted: NonNullable<Condition["labels"]>, path: string): CompiledCondition {
  const any = wanted.any ? new Set(wanted.any) : null;
  const all = wanted.all ?? null;
  const wants = [any && `any of ${list(wanted.any ?? [])}`, all && `all of ${list(all)}`].filter(Boolean);
  return leaf(
    "labels",
    path,
    ({ conversation }) => {
      const has = items(conversation.labels, "conversation.labels");
      if (any && !has.some((label) => any.has(label))) return false;
      return all === null || all.every((label) => has.includes(label));
    },
    ({ conversation }) => `conversation has ${list(conversation.labels)}, wanted ${wants.join(" and ")}`,
  );
}

function title(glob: string, path: string): CompiledCondition {
  const matches = compileGlob(glob);
  return leaf(
    "title",
    path,
    ({ conversation }) => matches(text(conversation.title, "conversation.title")),
    ({ conversation }) => `conversation title ${quote(conversation.title)} against glob ${quote(glob)}`,
  );
}

function members(
  wanted: NonNullable<Condition["members"]>,
  path: string,
  scope: ConditionScope,
): CompiledCondition {
  const listed = wanted.any ? new Set(wanted.any) : null;
  const grouped = wanted.anyInGroup
    ? new Set(wanted.anyInGroup.flatMap((group) => scope.groups[group] ?? []))
    : null;
  const wants = [
    listed && `any of ${list(wanted.any ?? [])}`,
    grouped && `any in group ${list(wanted.anyInGroup ?? [])}`,
  ].filter(Boolean);
  const found = (ids: ReadonlySet<string> | null, context: EvaluationContext) =>
    ids === null
      ? null
      : (items(context.conversation.members, "conversation.members").find((member) => ids.has(member.id))
          ?.id ?? null);
  return leaf(
    "members",
    path,
    (context) =>
      (listed === null || found(listed, context) !== null) &&
      (grouped === null || found(grouped, context) !== null),
    (context) => {
      const hits = [found(listed, context), found(grouped, context)].filter((id) => id !== null);
      const count = context.conversation.members.length;
      return `conversation has ${count} member(s), wanted ${wants.join(" and ")}${hits.length ? `; found ${list(hits)}` : ""}`;
    },
  );
}

function external(wanted: boolean, path: string): CompiledCondition {
  return leaf(
    "externalParticipants",
    path,
    ({ conversation }) =>
      flag(conversation.externalParticipants, "conversation.externalParticipants") === wanted,
    ({ conversation }) => `conversation has ${String(conversation.externalParticipants)}, wanted ${wanted}`,
  );
}

function boundTo(wanted: NonNullable<Condition["boundTo"]>, path: string): CompiledCondition {
  const channel = wanted.channel === undefined ? null : compileGlob(wanted.channel);
  const wants = `connector ${quote(wanted.connector)}${wanted.channel === undefined ? "" : ` with channel glob ${quote(wanted.channel)}`}`;
  return leaf(
    "boundTo",
    path,
    ({ conversation }) =>
      items(conversation.bindings, "conversation.bindings").some(
        (binding) =>
          binding.connector === wanted.connector &&
          (channel === null || channel(text(binding.channel, "binding.channel"))),
      ),
    ({ conversation }) =>
      `bound to ${list(conversation.bindings.map((binding) => `${binding.connector}:${binding.channel}`))}, wanted ${wants}`,
  );
}

function sender(wanted: NonNullable<Condition["sender"]>, path: string): CompiledCondition {
  const roles = wanted.roles ? new Set(wanted.roles.any) : null;
  const groups = wanted.groups ? new Set(wanted.groups.any) : null;
  const departments = wanted.department ? new Set(wanted.department.any) : null;
  const anyIn = (set: ReadonlySet<string> | null, values: readonly string[], what: string) =>
    set === null || items(values, what).some((value) => set.has(value));
  const wants = [
    wanted.roles && `roles any of ${list(wanted.roles.any)}`,
    wanted.groups && `groups any of ${list(wanted.groups.any)}`,
    wanted.department && `department any of ${list(wanted.department.any)}`,
  ].filter(Boolean);
  return leaf(
    "sender",
    path,
    ({ message }) => {
      const { roles: has = [], groups: memberOf = [], department = null } = message.sender;
      return (
        anyIn(roles, has, "message.sender.roles") &&
        anyIn(groups, memberOf, "message.sender.groups") &&
        (departments === null || (department !== null && departments.has(department)))
      );
    },
    ({ message }) => {
      const { roles: has = [], groups: memberOf = [], department = null } = message.sender;
      const dept = department === null ? "none" : quote(department);
      return `sender has roles ${list(has)}, groups ${list(memberOf)}, department ${dept}; wanted ${wants.join(" and ")}`;
    },
  );
}

/** Counts the detections a `detected` condition wants; `describe` is for explain only. */
function detectedMatcher(wanted: DetectedCondition) {
  const types = wanted.types ? new Set(wanted.types) : null;
  const minCount = wanted.minCount ?? 1;
  const minConfidence = wanted.minConfidence ?? 0;
  const which = wanted.types ? list(wanted.types) : "any type";
  const floor = minConfidence > 0 ? ` with confidence ≥ ${minConfidence}` : "";
  const count = (detections: readonly Detection[]): number => {
    let found = 0;
    for (const detection of detections) {
      if ((types === null || types.has(detection.type)) && detection.confidence >= minConfidence) found += 1;
    }
    return found;
  };
  return {
    matches: (detections: readonly Detection[]) => count(detections) >= minCount,
    describe: (detections: readonly Detection[]) =>
      `${count(detections)} detection(s) of ${which}${floor}, wanted at least ${minCount}`,
  };
}

function detected(wanted: DetectedCondition, path: string): CompiledCondition {
  const measure = detectedMatcher(wanted);
  return leaf(
    "detected",
    path,
    ({ detections }) => measure.matches(detections),
    ({ detections }) => `message text has ${measure.describe(detections)}`,
  );
}

function file(wanted: NonNullable<Condition["file"]>, path: string): CompiledCondition {
  const endings = wanted.extension?.map((ending) => `.${ending.replace(/^\./, "").toLowerCase()}`) ?? null;
  const mediaTypes = wanted.mediaType?.map((type) => type.toLowerCase()) ?? null;
  const measure = wanted.detected ? detectedMatcher(wanted.detected) : null;
  const wants = [
    wanted.extension && `extension in ${list(wanted.extension)}`,
    wanted.mediaType && `media type in ${list(wanted.mediaType)}`,
    wanted.minSize !== undefined && `size ≥ ${wanted.minSize}`,
    wanted.maxSize !== undefined && `size ≤ ${wanted.maxSize}`,
    wanted.detected && "detections",
    wanted.inspectable !== undefined && `inspectable ${wanted.inspectable}`,
  ].filter(Boolean);
  const matches = ({ file: attached, detections }: EvaluationContext["files"][number]): boolean => {
    if (endings) {
      const name = text(attached.name, "file.name").toLowerCase();
      if (!endings.some((ending) => name.endsWith(ending))) return false;
    }
    if (mediaTypes) {
      const type = (text(attached.mediaType, "file.mediaType").split(";")[0] ?? "").trim().toLowerCase();
      const fits = (pattern: string) =>
        pattern.endsWith("/*") ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
      if (!mediaTypes.some(fits)) return false;
    }
    if (wanted.minSize !== undefined || wanted.maxSize !== undefined) {
      const size = count(attached.size, "file.size");
      if (wanted.minSize !== undefined && size < wanted.minSize) return false;
      if (wanted.maxSize !== undefined && size > wanted.maxSize) return false;
    }
    if (wanted.inspectable !== undefined && (attached.text !== null) !== wanted.inspectable) return false;
    return measure === null || measure.matches(detections);
  };
  return leaf(
    "file",
    path,
    ({ files }) => files.some(matches),
    ({ files }) => {
      const hits = files.filter(matches).map(({ file: attached }) => attached.id);
      const found = hits.length ? ` (${list(hits)})` : "";
      const want = wants.length ? wants.join(", ") : "any file";
      return `${hits.length} of ${files.length} attached file(s) match ${want}${found}`;
    },
  );
}

// Input checks: a wrong type must fail the evaluation (closed), never read as "no match".
function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw new TypeError(`${what} is not a string`);
  return value;
}

function items<T>(value: readonly T[], what: string): readonly T[] {
  if (!Array.isArray(value)) throw new TypeError(`${what} is not a list`);
  return value;
}

function flag(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw new TypeError(`${what} is not a boolean`);
  return value;
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`${what} is not a number`);
  return value;
}

const LIST_LIMIT = 10;

/** `[a, b, c]`, cut after ten items. */
function list(values: readonly unknown[]): string {
  const shown = values.slice(0, LIST_LIMIT).map(String);
  if (values.length > LIST_LIMIT) shown.push(`… ${values.length - LIST_LIMIT} more`);
  return `[${shown.join(", ")}]`;
}

function quote(value: unknown): string {
  const shown = String(value);
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 79)}…` : shown);
}
