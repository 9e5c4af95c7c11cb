// C2SP tlog-checkpoints (c2sp.org/tlog-checkpoint): a log's signed tree head, the note
// text "<origin>\n<size>\n<base64 root>\n" plus optional non-empty extension lines,
// signed as a C2SP signed note (note.js). Mirrors chainledger/checkpoint.py.

import { b64decode } from "./b64.js";
import { MalformedInput, VerificationError } from "./errors.js";
import { openNote } from "./note.js";

export const MAX_TREE_SIZE = 2n ** 64n - 1n;

export class CheckpointTooShort extends MalformedInput {
  constructor() { super("checkpoint", "needs origin, size and root hash lines, each ending in newline"); }
}
export class CheckpointEmptyOrigin extends MalformedInput {
  constructor() { super("checkpoint", "empty origin line"); }
}
export class CheckpointBadSize extends MalformedInput {
  constructor() { super("checkpoint", "tree size must be a decimal uint64 without leading zeros"); }
}
export class CheckpointBadRoot extends MalformedInput {
  constructor(reason) { super("checkpoint", `root hash ${reason}`); }
}
export class CheckpointEmptyExtension extends MalformedInput {
  constructor() { super("checkpoint", "extension lines must be non-empty"); }
}
/** A valid checkpoint, but of another log than the one expected. */
export class OriginMismatch extends VerificationError {
  constructor(message) { super(message, "origin_mismatch"); }
}

/**
 * Parse checkpoint note text into {origin, size (BigInt), root (Uint8Array), extensions}.
 * `hashSize` null skips the root length check.
 */
export function parseCheckpointBody(text, hashSize = 32) {
  if (!text.endsWith("\n")) throw new CheckpointTooShort();
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new CheckpointTooShort();
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!origin) throw new CheckpointEmptyOrigin();
  if (sizeText.length > 20 || !/^(?:0|[1-9][0-9]*)$/.test(sizeText) || BigInt(sizeText) > MAX_TREE_SIZE) {
    throw new CheckpointBadSize();
  }
  let root;
  try {
    root = b64decode(rootText, "root hash");
  } catch {
    throw new CheckpointBadRoot("is not standard base64");
  }
  if (hashSize !== null && root.length !== hashSize) throw new CheckpointBadRoot(`must be ${hashSize} bytes, not ${root.length}`);
  if (extensions.some((line) => !line)) throw new CheckpointEmptyExtension();
  return { origin, size: BigInt(sizeText), root, extensions };
}

/**
 * Verify a signed checkpoint against known verifiers, then parse its body. Resolves to
 * {checkpoint, note, verified, unknown} (unknown: unchecked signatures, e.g. witnesses').
 * Throws UnverifiedNote/BadNoteSignature, a MalformedInput subclass, or OriginMismatch.
 */
export async function openCheckpoint(noteText, verifiers, { origin = null, hashSize = 32 } = {}) {
  const { note, verified, unknown } = await openNote(noteText, verifiers);
  const checkpoint = parseCheckpointBody(note.text, hashSize);
  if (origin !== null && checkpoint.origin !== origin) {
    throw new OriginMismatch(`checkpoint is for origin ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(origin)}`);
  }
  return { checkpoint, note, verified, unknown };
}
