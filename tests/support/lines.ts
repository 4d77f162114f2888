/**
 * Reads a child process's output line by line.
 *
 * @param stream The output, such as `child.stdout`.
 * @returns A function that resolves to the next line (without its newline),
 *   or `undefined` once the stream has ended and every line was read.
 */
export function lineReader(
  stream: ReadableStream<Uint8Array>,
): () => Promise<string | undefined> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let ended = false;
  return async function line(): Promise<string | undefined> {
    for (;;) {
      const end = buffer.indexOf("\n");
      if (end >= 0) {
        const text = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        return text;
      }
      if (ended) {
        const rest = buffer;
        buffer = "";
        return rest === "" ? undefined : rest;
      }
      const { value, done } = await reader.read();
      if (done) ended = true;
      else buffer += value;
    }
  };
}
