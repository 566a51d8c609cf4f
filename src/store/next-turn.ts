/**
 * Resolves on the next turn of the event loop (after pending I/O), not as a microtask. better-sqlite3
 * answers synchronously, so a loop of awaited SQLite queries never lets other requests run on its own:
 * long reads (exports, scans over many ranges) call this between pieces of work.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
