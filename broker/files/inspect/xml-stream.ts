// Streams an XML part through saxes and hands its elements and text to a handler. A document type
// declaration is refused outright (Office parts never have one), so no entity is ever defined,
// expanded or fetched: no XXE, no billion laughs. saxes itself knows only the five XML entities.
// Elements nested deeper than MAX_XML_DEPTH make the part corrupt: the parser's and the handlers'
// stacks grow with the depth, and no Office part nests that deep.
import { TextDecoder } from "node:util";
import { SaxesParser } from "saxes";
import { MAX_XML_DEPTH } from "./limits.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";

export interface XmlHandler {
  /** `name` without its namespace prefix ("w:t" is "t"). */
  open(name: string, attributes: Readonly<Record<string, string>>): void;
  text(text: string): void;
  close(name: string): void;
}

export class XmlStream {
  readonly #parser = new SaxesParser<{ xmlns: false; position: false }>({ xmlns: false, position: false });
  #decoder: TextDecoder | null = null;
  #depth = 0;

  constructor(handler: XmlHandler) {
    this.#parser.on("doctype", () => {
      throw new UninspectableError(InspectionReason.corrupt);
    });
    // saxes reports a start tag once it is read whole; a self-closing one is closed at once.
    this.#parser.on("opentagstart", () => {
      if (++this.#depth > MAX_XML_DEPTH) throw new UninspectableError(InspectionReason.corrupt);
    });
    this.#parser.on("opentag", (tag) => handler.open(localName(tag.name), tag.attributes));
    this.#parser.on("closetag", (tag) => {
      this.#depth--;
      handler.close(localName(tag.name));
    });
    this.#parser.on("text", (text) => handler.text(text));
    this.#parser.on("cdata", (text) => handler.text(text));
  }

  /** Feeds the next bytes of the part (UTF-8, or UTF-16 when it starts with a byte order mark). */
  write(bytes: Uint8Array): void {
    this.#decoder ??= new TextDecoder(bomEncoding(bytes), { fatal: true });
    this.#feed(() => this.#parser.write(this.#decoder?.decode(bytes, { stream: true }) ?? ""));
  }

  end(): void {
    this.#feed(() => this.#parser.write(this.#decoder?.decode() ?? "").close());
  }

  #feed(step: () => void): void {
    try {
      step();
    } catch (error) {
      if (error instanceof UninspectableError) throw error;
      throw new UninspectableError(InspectionReason.corrupt, { cause: error });
    }
  }
}

function bomEncoding(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return "utf-8";
}

function localName(name: string): string {
  return name.slice(name.indexOf(":") + 1);
}
