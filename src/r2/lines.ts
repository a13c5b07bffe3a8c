// Stream an R2 text object line by line, never holding more than one chunk and one line. A line
// longer than `maxLineBytes` (default 64 KiB) is an error naming the object, not a growing string.
export const MAX_LINE_BYTES = 64 * 1024;

export async function* linesOf(bucket: R2Bucket, key: string, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<string> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`${key} not found in R2`);
  const reader = object.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  let line = 1;
  const tooLong = () => new Error(`${key}: line ${line} is longer than ${maxLineBytes} bytes`);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const lines = (rest + value).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      if (l.length > maxLineBytes) {
        await reader.cancel();
        throw tooLong();
      }
      line++;
      if (l.trim() !== "") yield l.trim();
    }
    if (rest.length > maxLineBytes) {
      await reader.cancel();
      throw tooLong();
    }
  }
  if (rest.trim() !== "") yield rest.trim();
}
