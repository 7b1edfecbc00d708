/**
 * `work`'s outcome, or the error `late()` makes once `ms` have passed without one: for what nothing else
 * bounds (a connection gone silent, no RST, no FIN). The work is left running, and its later failure is
 * observed so that it never surfaces as an unhandled rejection.
 */
export function within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  work.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), Math.max(0, ms));
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
