// Bytes written in pieces, held in memory while they are few and spooled into an R2 object once
// they pass `holdBytes` (through R2Sink: one part buffer, whatever the total). A bronze raw of many
// pages is built this way, page by page, so a batch of a thousand pages holds one page and a part
// buffer, not a thousand pages and their JSON.
import { joinBytes } from "../bytes";
import { R2Sink } from "./multipart-sink";

/** Where the written bytes ended up: in memory, or in R2 under `key` (size and SHA-256 known). */
export type Spooled = { held: Uint8Array } | { staged: { key: string; bytes: number; sha256: string } };

export class Spool {
  private held: Uint8Array[] = [];
  private size = 0;
  private sink: R2Sink | undefined;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    private readonly holdBytes: number,
  ) {}

  /** Append `data` (kept by reference while held: the caller must not reuse it). */
  async write(data: Uint8Array): Promise<void> {
    this.size += data.length;
    if (this.sink) return this.sink.write(data);
    this.held.push(data);
    if (this.size <= this.holdBytes) return;
    this.sink = new R2Sink(this.bucket, this.key);
    for (const piece of this.held.splice(0)) await this.sink.write(piece);
  }

  /** Everything written: the bytes, or the staged object once it is complete. */
  async finish(): Promise<Spooled> {
    if (!this.sink) return { held: joinBytes(this.held.splice(0)) };
    const { bytes, sha256 } = await this.sink.finish();
    return { staged: { key: this.key, bytes, sha256 } };
  }

  /** Drop what was written (an unfinished upload leaves nothing under the key). */
  async abort(): Promise<void> {
    this.held = [];
    await this.sink?.abort();
  }
}
