// Bytes written in pieces, held in memory while they are few and spooled into an R2 object once
// they pass `holdBytes`. A bronze raw of many pages is built this way, page by page, so a batch of
// a thousand pages holds one page and at most `holdBytes` of the raw, whatever its total.
//
// Past `holdBytes` the bytes go to R2 in chunk objects of exactly `holdBytes` each, next to the
// target key. An R2 multipart part must be at least 5 MiB (all but the last the same size), so a
// part buffer would hold 5 MiB for each spool, and dozens of ingest tasks share an isolate's
// 128 MB: instead, each time five chunks make a part, they stream back from R2 into it, and the
// last part (or a single put, for an object of under one part) is the remaining chunks and what is
// still held. The chunk objects are deleted as their part is uploaded. Each spool names its chunks
// with an id of its own: two deliveries of one batch spooling at once never read each other's.
// Chunks left by a worker that stopped midway lie under the run's staging prefix, swept when the
// run ends. Costs one put and one get per chunk beyond the first `holdBytes`.
import { joinBytes } from "../bytes";
import { hex } from "../hash";
import { MIN_PART_SIZE } from "./multipart-sink";

/** Where the written bytes ended up: in memory, or in R2 under `key` (size and SHA-256 known). */
export type Spooled = { held: Uint8Array } | { staged: { key: string; bytes: number; sha256: string } };

export class Spool {
  /** Pieces written and not yet in a chunk (by reference), and their size. */
  private held: Uint8Array[] = [];
  private heldSize = 0;
  private size = 0;
  /** Chunk objects in R2 not yet in an uploaded part, oldest first. */
  private chunks: string[] = [];
  private written = 0;
  private upload: R2MultipartUpload | undefined;
  private readonly parts: R2UploadedPart[] = [];
  private digest: DigestStream | undefined;
  private digestWriter: WritableStreamDefaultWriter<ArrayBuffer | ArrayBufferView> | undefined;
  private readonly id = crypto.randomUUID();
  private readonly chunksPerPart: number;
  /** The most bytes held in memory at once (pieces and a chunk being cut), for tests. */
  peakHeldBytes = 0;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    private readonly holdBytes: number,
  ) {
    this.chunksPerPart = Math.ceil(MIN_PART_SIZE / holdBytes);
  }

  /** Append `data` (kept by reference while held: the caller must not reuse it). */
  async write(data: Uint8Array): Promise<void> {
    this.size += data.length;
    this.held.push(data);
    this.heldSize += data.length;
    this.peakHeldBytes = Math.max(this.peakHeldBytes, this.heldSize);
    if (this.heldSize <= this.holdBytes) return;
    while (this.heldSize >= this.holdBytes) await this.cutChunk();
  }

  /** Exactly `holdBytes` of the held pieces into a chunk object (and the hash). */
  private async cutChunk(): Promise<void> {
    const whole = joinBytes(this.held.splice(0));
    const chunk = whole.subarray(0, this.holdBytes);
    const rest = whole.subarray(this.holdBytes);
    this.held = rest.length > 0 ? [rest] : [];
    this.heldSize = rest.length;
    this.peakHeldBytes = Math.max(this.peakHeldBytes, whole.length);
    this.digest ??= new crypto.DigestStream("SHA-256");
    this.digestWriter ??= this.digest.getWriter();
    await this.digestWriter.write(chunk);
    const key = `${this.key}.${this.id}.${this.written++}`;
    await this.bucket.put(key, chunk);
    this.chunks.push(key);
    if (this.chunks.length === this.chunksPerPart) {
      this.upload ??= await this.bucket.createMultipartUpload(this.key);
      const keys = this.chunks.splice(0);
      this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.relay(keys, undefined)));
      await this.bucket.delete(keys);
    }
  }

  /** The chunk objects one after another, then `tail`, as a stream of known length (R2 needs it). */
  private relay(keys: string[], tail: Uint8Array | undefined): ReadableStream {
    const { readable, writable } = new FixedLengthStream(keys.length * this.holdBytes + (tail?.length ?? 0));
    const feed = async () => {
      for (const key of keys) {
        const object = await this.bucket.get(key);
        if (!object) throw new Error(`spooled chunk ${key} is missing`);
        await object.body.pipeTo(writable, { preventClose: true });
      }
      const writer = writable.getWriter();
      if (tail) await writer.write(tail);
      await writer.close();
    };
    // A failure reaches the reader (the put or part upload fails with it).
    feed().catch((err: unknown) => writable.abort(err).catch(() => undefined));
    return readable;
  }

  /** Everything written: the bytes, or the staged object once it is complete. */
  async finish(): Promise<Spooled> {
    const tail = joinBytes(this.held.splice(0));
    this.heldSize = 0;
    if (!this.digestWriter || !this.digest) return { held: tail };
    await this.digestWriter.write(tail);
    await this.digestWriter.close();
    const keys = this.chunks.splice(0);
    const last = keys.length > 0 || tail.length > 0 ? this.relay(keys, tail.length > 0 ? tail : undefined) : undefined;
    if (!this.upload) await this.bucket.put(this.key, last!);
    else {
      // A size of whole parts has no last part to upload (an empty one would be refused).
      if (last) this.parts.push(await this.upload.uploadPart(this.parts.length + 1, last));
      await this.upload.complete(this.parts);
    }
    if (keys.length > 0) await this.bucket.delete(keys);
    return { staged: { key: this.key, bytes: this.size, sha256: hex(await this.digest.digest) } };
  }

  /** Drop what was written: nothing appears under the key, and no chunk stays. */
  async abort(): Promise<void> {
    this.held = [];
    this.heldSize = 0;
    const keys = this.chunks.splice(0);
    if (keys.length > 0) await this.bucket.delete(keys).catch(() => undefined);
    if (this.upload) await this.upload.abort().catch(() => undefined);
  }
}
