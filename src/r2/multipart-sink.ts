// Bytes streamed into one R2 object: equal-size multipart parts (a single put when the whole
// object fits in one part) and a SHA-256 of everything written. Memory holds one part buffer,
// reused for every part (no garbage of part-sized buffers waiting for a collection). The buffer
// starts at FIRST_BUFFER and doubles as bytes come, up to the part size: a spooled raw of 1.5 MiB
// holds 2 MiB, not a whole 5 MiB part, while dozens of ingest tasks share an isolate.
import { hex } from "../hash";

export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** The part buffer's first size; it doubles up to the part size as bytes come. */
const FIRST_BUFFER = 256 * 1024;

export interface SinkResult {
  bytes: number;
  sha256: string;
  parts: number;
}

export class R2Sink {
  private upload: R2MultipartUpload | undefined;
  private readonly parts: R2UploadedPart[] = [];
  private part: Uint8Array;
  private filled = 0;
  private written = 0;
  private readonly digest = new crypto.DigestStream("SHA-256");
  private readonly digestWriter = this.digest.getWriter();
  private readonly partSize: number;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    partSize = MIN_PART_SIZE,
  ) {
    this.partSize = Math.max(partSize, MIN_PART_SIZE);
    this.part = new Uint8Array(Math.min(FIRST_BUFFER, this.partSize));
  }

  get bytes(): number {
    return this.written;
  }

  /** The part buffer's size now (memory this sink holds). */
  get bufferBytes(): number {
    return this.part.length;
  }

  /** Room in the part buffer for `more` bytes after those filled, doubling it up to the part size. */
  private grow(more: number): void {
    const wanted = Math.min(this.partSize, this.filled + more);
    if (wanted <= this.part.length) return;
    let size = this.part.length;
    while (size < wanted) size = Math.min(this.partSize, size * 2);
    const bigger = new Uint8Array(size);
    bigger.set(this.part.subarray(0, this.filled));
    this.part = bigger;
  }

  private async flush(data: Uint8Array): Promise<void> {
    await this.digestWriter.write(data);
    this.upload ??= await this.bucket.createMultipartUpload(this.key);
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, data));
  }

  /** Copies `value` into the part buffer (the caller may reuse it); hashes and uploads whole parts. */
  async write(value: Uint8Array): Promise<void> {
    this.written += value.length;
    let offset = 0;
    while (offset < value.length) {
      const n = Math.min(this.partSize - this.filled, value.length - offset);
      this.grow(n);
      this.part.set(value.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.partSize) {
        await this.flush(this.part); // resolved once R2 has the part: the buffer is free again
        this.filled = 0;
      }
    }
  }

  /** Complete the object (multipart, or one put when it is smaller than a part). */
  async finish(): Promise<SinkResult> {
    if (this.upload) {
      if (this.filled > 0) await this.flush(this.part.subarray(0, this.filled));
      await this.upload.complete(this.parts);
    } else {
      const data = this.part.subarray(0, this.filled);
      await this.digestWriter.write(data);
      await this.bucket.put(this.key, data);
    }
    await this.digestWriter.close();
    return { bytes: this.written, sha256: hex(await this.digest.digest), parts: Math.max(this.parts.length, 1) };
  }

  /** Drop an unfinished multipart upload (nothing is visible under the key until finish). */
  async abort(): Promise<void> {
    if (this.upload) await this.upload.abort().catch(() => undefined);
  }
}
