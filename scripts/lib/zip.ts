import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  compressedBytes: number;
  uncompressedBytes: number;
  /** Compression method (0 stored, 8 deflate) and where the entry's local header starts. */
  method: number;
  localHeaderOffset: number;
}

/**
 * The entries of a zip file, read from its central directory (no extraction, no dependency).
 * Enough for the artifacts serverless-esbuild writes: no zip64, no multi-disk archives.
 */
export function zipEntries(path: string): ZipEntry[] {
  const buffer = readFileSync(path);
  // End of central directory record: signature 0x06054b50, at most 64 KB of comment after it.
  let eocd = -1;
  for (let i = buffer.length - 22; i >= Math.max(0, buffer.length - 22 - 0xffff); i -= 1) {
    if (buffer.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path} is not a zip file (no end of central directory)`);
  const count = buffer.readUInt16LE(eocd + 10);
  let offset = buffer.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n += 1) {
    if (buffer.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${path}: corrupt central directory`);
    const compressedBytes = buffer.readUInt32LE(offset + 20);
    const uncompressedBytes = buffer.readUInt32LE(offset + 24);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    const method = buffer.readUInt16LE(offset + 10);
    const localHeaderOffset = buffer.readUInt32LE(offset + 42);
    const name = buffer.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (!name.endsWith('/')) entries.push({ name, compressedBytes, uncompressedBytes, method, localHeaderOffset });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The content of one entry (stored or deflated). */
export function readZipEntry(path: string, name: string): Buffer {
  const entry = zipEntries(path).find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`${path} has no entry ${name}`);
  const buffer = readFileSync(path);
  const header = entry.localHeaderOffset;
  if (buffer.readUInt32LE(header) !== 0x04034b50) throw new Error(`${path}: corrupt local header for ${name}`);
  const start = header + 30 + buffer.readUInt16LE(header + 26) + buffer.readUInt16LE(header + 28);
  const data = buffer.subarray(start, start + entry.compressedBytes);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${path}: ${name} uses compression method ${entry.method}`);
}
