// A progress bar on stderr for long runs: redrawn in place on a terminal, a line every 10% otherwise.
import type { WriteStream } from "node:tty";

export interface Progress {
  update(done: number): void;
  done(): void;
}

export function progressBar(
  stream: NodeJS.WriteStream | WriteStream,
  total: number,
  label: string,
): Progress {
  const width = 30;
  let lastTenth = -1;
  const render = (done: number) => {
    const fraction = total === 0 ? 1 : Math.min(1, done / total);
    if (stream.isTTY) {
      const filled = Math.round(fraction * width);
      stream.write(`\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}`);
    } else if (Math.floor(fraction * 10) > lastTenth) {
      lastTenth = Math.floor(fraction * 10);
      stream.write(`${label}: ${done}/${total} (${Math.round(fraction * 100)}%)\n`);
    }
  };
  return {
    update: render,
    done() {
      render(total);
      if (stream.isTTY) stream.write("\n");
    },
  };
}
