// Decodes a text file step by step as its bytes come, stopping as soon as the text is over budget
// or the time is up: the bytes are never held whole.
import { TextDecoder } from "node:util";
import type { Deadline } from "./deadline.ts";
import { TEXT_STEP_BYTES } from "./limits.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";
import { TextBudget } from "./text-budget.ts";
import type { TextEncoding } from "./text-encoding.ts";

/** The whole text of `chunks` in `encoding`; an invalid sequence anywhere makes the file uninspectable. */
export async function decodePlainText(
  chunks: AsyncIterable<Uint8Array>,
  encoding: TextEncoding,
  maxTextChars: number,
  deadline: Deadline,
): Promise<string> {
  const decoder = new TextDecoder(encoding, { fatal: true });
  const text = new TextBudget(maxTextChars);
  for await (const bytes of chunks) {
    for (let at = 0; at < bytes.length; at += TEXT_STEP_BYTES) {
      text.append(
        decodeStep(decoder, bytes.subarray(at, Math.min(at + TEXT_STEP_BYTES, bytes.length)), true),
      );
      await deadline.pace();
    }
  }
  text.append(decodeStep(decoder, new Uint8Array(0), false));
  return text.toString();
}

function decodeStep(decoder: TextDecoder, bytes: Uint8Array, more: boolean): string {
  try {
    return decoder.decode(bytes, { stream: more });
  } catch (error) {
    throw new UninspectableError(InspectionReason.encoding, { cause: error });
  }
}
