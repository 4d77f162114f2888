/**
 * Counts the filesystem calls that code makes through the `Deno` namespace,
 * for the benchmark's "operations per lifecycle". Each counted call is one
 * system call or a small fixed group of them (a `writeFileSync` opens,
 * writes and closes one file): what is counted is the work that touches the
 * filesystem's metadata or reads a file, not the bytes.
 *
 * @module
 */

/** The kinds of filesystem call counted, and the `Deno` functions of each. */
export const OPERATIONS = {
  /** Files made: a temp file written, a folder made. */
  create: ["writeFile", "writeTextFile", "mkdir"],
  rename: ["rename"],
  link: ["link"],
  remove: ["remove"],
  /** A file's times set (the library's ordering stamps). */
  utime: ["utime"],
  /** A file's content read, or a file opened (for a lock or a sync). */
  read: ["readFile", "readTextFile", "open"],
  /** A file's metadata read, a folder listed. */
  stat: ["stat", "lstat", "readDir"],
} as const;

/** A kind of counted call. */
export type Operation = keyof typeof OPERATIONS;

/** Calls per kind, and `lock` for folder locks taken. */
export type OperationCounts = Record<Operation | "lock", number>;

/** The kinds that change the filesystem's metadata. */
export const METADATA: readonly Operation[] = [
  "create",
  "rename",
  "link",
  "remove",
  "utime",
];

/**
 * Runs `fn` with every counted `Deno` call (sync and async) counted, and
 * restores the namespace after.
 *
 * @param fn The code to count.
 * @returns The counts of the calls that `fn` made, and its value.
 */
export async function countOperations<T>(
  fn: () => Promise<T>,
): Promise<{ counts: OperationCounts; value: T }> {
  const counts = {
    create: 0,
    rename: 0,
    link: 0,
    remove: 0,
    utime: 0,
    read: 0,
    stat: 0,
    lock: 0,
  } satisfies OperationCounts;
  const deno = Deno as unknown as Record<string, unknown>;
  const saved: [Record<string, unknown>, string, unknown][] = [];
  const wrap = (
    target: Record<string, unknown>,
    name: string,
    kind: keyof OperationCounts,
  ) => {
    const original = target[name];
    if (typeof original !== "function") return;
    saved.push([target, name, original]);
    target[name] = function (this: unknown, ...args: unknown[]) {
      counts[kind]++;
      return original.apply(this, args);
    };
  };
  for (const [kind, names] of Object.entries(OPERATIONS)) {
    for (const name of names) {
      wrap(deno, name, kind as Operation);
      wrap(deno, `${name}Sync`, kind as Operation);
    }
  }
  const file = Deno.FsFile.prototype as unknown as Record<string, unknown>;
  wrap(file, "lock", "lock");
  wrap(file, "lockSync", "lock");
  try {
    return { counts, value: await fn() };
  } finally {
    for (const [target, name, original] of saved.reverse()) {
      target[name] = original;
    }
  }
}
