/**
 * What an invocation that timed out leaves behind. A client that may hold a connection which stopped
 * answering (frozen, not closed) registers how to drop it when it creates that connection; the timeout
 * backstop of the HTTP stack calls them all, so the next invocation of this warm container starts clean.
 * A registry rather than imports, so that the HTTP stack does not pull every driver into every bundle.
 */
const discards = new Set<() => void>();

/** Registers `discard`; returns how to take it back (a connection that lives for one invocation only). */
export function discardAfterTimeout(discard: () => void): () => void {
  discards.add(discard);
  return () => discards.delete(discard);
}

export function discardClientsAfterTimeout(): void {
  for (const discard of discards) discard();
}
