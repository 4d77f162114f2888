/**
 * {@linkcode LocalAdapter}: the {@linkcode StorageAdapter} contract on the
 * local filesystem, in exactly sqooler's layout, so that sqooler's Python tools
 * and this library can share one folder.
 *
 * @module
 */

import { constants as osConstants } from "node:os";
import { resolve } from "node:path";
import {
  type GetOptions,
  type JsonObject,
  type MoveOldestOptions,
  type RecordCheck,
  records,
  settle,
  type StorageAdapter,
  type UploadOptions,
} from "./adapter.ts";
import {
  AlreadyExistsError,
  CorruptRecordError,
  InactiveStorageError,
  InvalidNameError,
  InvalidRecordError,
  NotFoundError,
  SqoolerError,
  StorageError,
} from "./errors.ts";
import { keepsWriteOrder, mayHoldLargeRecords } from "./layout.ts";
import { createPacer, SLICE_CHARS, type TextStream } from "./slices.ts";
import { describeValue, normalizeProviderName } from "./names.ts";

/** Options of {@linkcode LocalAdapter}. */
export interface LocalAdapterOptions {
  /** The folder that holds the storage; created when first written to. */
  basePath: string;
  /**
   * The storage provider's name; lowercased, then 1 to 64 letters and digits.
   *
   * @default {"default"}
   */
  name?: string;
  /**
   * Whether the storage accepts operations.
   *
   * @default {true}
   */
  active?: boolean;
  /**
   * Whether every write and move also syncs the file and its folder to disk,
   * so that it survives a power cut, not only a crash of the process.
   *
   * @default {false}
   */
  fsync?: boolean;
  /**
   * How long, in milliseconds, {@linkcode LocalAdapter.moveOldest} may work
   * from its last listing of a folder before it lists again. A record moved
   * back into a queue by another process is seen within this time. For a
   * folder so big that listing it takes longer than 50 ms (some 20,000
   * files), the time grows in proportion, so that listing again takes at most
   * 50 ms per `rescanIntervalMs`.
   *
   * @default {1000}
   */
  rescanIntervalMs?: number;
}

const FILE = /^([A-Za-z0-9_-]{1,128})\.json$/;
/** The name of the folders that hold temp files. No storage path can name one. */
const TEMP = ".tmp";
/** How `#write` places a file: linked, so that an existing record is kept. */
const CREATE = "create";
/** How `#write` places a file: renamed over whatever is there. */
const PUT = "put";
// Records up to this size are read and written with synchronous calls: a few
// microseconds each, against about 30 µs for a trip through the thread pool.
const SYNC_LIMIT = 256 * 1024;
const STAT_SLICE_MS = 2;
// How long a periodic relisting may take per rescanIntervalMs.
const RELIST_BUDGET_MS = 50;
/** How many folder handles, for the folder locks, an adapter keeps open. */
const MAX_HANDLES = 32;
/** How many folders' temp places and last write times an adapter remembers. */
const MAX_FOLDERS = 1024;
/** How far ahead of the clock a write's time may be put to keep writes apart. */
const STAMP_LEAD_MS = 100;
/** How many buffers for reading large files an adapter keeps between reads. */
const MAX_KEPT_BUFFERS = 2;
/** The largest buffer for reading large files that an adapter keeps: 64 MiB. */
const MAX_KEPT_BUFFER_BYTES = 64 * 1024 * 1024;
const HOUR_MS = 3_600_000;

/**
 * What puts a file in its place in a folder, oldest first: the modification
 * time, then the creation time, then the inode number, as the filesystem
 * gives them (Deno gives times in milliseconds), then the id.
 */
interface FileTime {
  mtime: number;
  birth: number;
  ino: number;
}

interface Listing {
  /** Ids in the order to take them. */
  ids: string[];
  /** Where the next take starts. */
  head: number;
  /** The times of the listed and the held ids, so that a relisting stats only new files. */
  times: Map<string, FileTime>;
  /** Ids that a `moveOldest` call has taken from `ids` and not yet moved or given back. */
  held: Set<string>;
  /** Counts the relistings, so that a call can tell whether `ids` was rebuilt meanwhile. */
  generation: number;
  listedAt: number;
  /** How long the last listing took, in milliseconds. */
  scanMs: number;
  stale: boolean;
  refreshing: Promise<void> | undefined;
}

/** An open folder, on which the folder's lock is taken. */
interface FolderHandle {
  file: Deno.FsFile;
  /** `<device>:<inode>`: the same for two paths of one folder, and the lock order. */
  key: string;
}

/**
 * A {@linkcode StorageAdapter} on the local filesystem. A record
 * `(storagePath, id)` is the file `<basePath>/<storagePath>/<id>.json`.
 *
 * - **Atomic writes.** The content goes to a temp file in a `.tmp` folder,
 *   which is then renamed (or, to create, hard-linked) into place; a reader,
 *   in any process, sees the old file or the new one, never a part. The `.tmp`
 *   folder is never one of sqooler's folders (sqooler's Python worker would
 *   take any file in a queue folder for a job): it is `<basePath>/.tmp`, or,
 *   for a folder that is a link to another filesystem, `.tmp` in the highest
 *   folder of the storage above it that is on that filesystem (for `results`
 *   linked elsewhere, `results/.tmp`). A records folder that is itself the
 *   only folder of its filesystem in the storage has no such place, and
 *   writes to it are refused with a {@linkcode StorageError} that says so.
 * - **Conditional changes.** `update`, `delete` and every move of a record out
 *   of or into a folder hold the folder's lock (an advisory `flock` on the
 *   folder, taken in a fixed order, only during synchronous work), so that
 *   they are atomic with respect to each other in every process that uses
 *   this library: a record deleted or moved meanwhile never reappears, and a
 *   `check` sees the content that the change replaces. sqooler's Python tools
 *   do not take the lock; they write in place anyway. A folder must not be
 *   removed while processes use it: a process keeps up to 32 folders open
 *   for their locks ({@linkcode LocalAdapter.close} closes them). The locks
 *   need `flock` on folders, as Linux, macOS and the BSDs have it.
 * - **Moves.** `move` is one `rename`, so two processes that move the same
 *   file cannot both succeed. Two folders on different filesystems cannot
 *   hold one record in turn: a move between them is refused with a
 *   {@linkcode StorageError} and changes nothing.
 * - **Order.** "Oldest first" is by the file's modification time, then its
 *   creation time, then its inode number, then its id. Deno reads file times
 *   in milliseconds, so every write gives its file a time from the process
 *   clock, 1 ms after the last write of this adapter to that folder when that
 *   is later (at most 100 ms ahead of the clock): records that one adapter
 *   writes into one folder keep their order, up to 100 writes in a
 *   millisecond. Between folders and between processes, the order is the
 *   clock's, to the millisecond and within those 100 ms. Statuses, results,
 *   owner records, leases and backend records are only ever found by id, so
 *   their files keep the filesystem's own times (no stamp). Files that other
 *   tools write in the same millisecond are ordered by inode number, which
 *   follows the order of creation on tmpfs and btrfs, and on ext4 unless a
 *   file was deleted in that millisecond. A rename keeps a file's time, so a
 *   job that goes back to its queue is taken first.
 * - **Errors.** A failure of the filesystem (no space, permissions, too many
 *   open files, …) is a {@linkcode StorageError} naming the record, with the
 *   system's `code` and the original error as `cause`; the call changed
 *   nothing and left no temp file.
 * - With `fsync: true`, files and folders are synced before a call returns.
 *
 * @example Share a folder with sqooler
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalAdapter } from "@sqooler/storage";
 *
 * const basePath = await Deno.makeTempDir();
 * try {
 *   const adapter = new LocalAdapter({ basePath, name: "labstore" });
 *   await adapter.upload("status/fermions", "abc", { job_id: "abc" });
 *   const text = await Deno.readTextFile(`${basePath}/status/fermions/abc.json`);
 *   assert(JSON.parse(text).job_id === "abc");
 *   adapter.close();
 * } finally {
 *   await Deno.remove(basePath, { recursive: true });
 * }
 * ```
 */
export class LocalAdapter implements StorageAdapter {
  /** The storage provider's name. */
  readonly name: string;
  /** Whether the storage accepts operations. */
  readonly active: boolean;
  /** The storage's folder, as an absolute path. */
  readonly basePath: string;
  /** Whether writes are synced to disk. */
  readonly fsync: boolean;
  #rescanIntervalMs: number;
  /** `basePath` with one separator at its end, to which checked names are appended. */
  #root: string;
  /** Per records folder: the `.tmp` folder of its filesystem, once decided. */
  #places = new RecentMap<string, string>(MAX_FOLDERS);
  /** Pairs of folders between which a move was found to be atomic. */
  #atomicMoves = new RecentMap<string, true>(MAX_FOLDERS);
  /** Per records folder: the time given to this adapter's last write there. */
  #stamps = new RecentMap<string, number>(MAX_FOLDERS);
  /** Per records folder: the open folder, for its lock. */
  #handles = new RecentMap<string, FolderHandle>(
    MAX_HANDLES,
    (handle) => handle.file.close(),
  );
  /** Counts the times all handles were closed at once, see `#locked`. */
  #handleDrops = 0;
  #listings = new Map<string, Listing>();
  /** Buffers for reading large files, kept for the next read (see `readRecordFile`). */
  #buffers = new ReadBuffers();

  /**
   * Opens a storage folder. Nothing is read or written until the first call.
   *
   * @param options Where the storage is, and how to treat it.
   * @throws {InvalidNameError} When the name or the base path is not acceptable.
   */
  constructor(options: LocalAdapterOptions) {
    const basePath = options?.basePath;
    if (
      typeof basePath !== "string" || basePath.length === 0 ||
      basePath.includes("\0")
    ) {
      throw new InvalidNameError(
        `Invalid base path ${
          describeValue(basePath)
        }: expected a folder's path`,
      );
    }
    this.basePath = resolve(basePath);
    this.#root = /[\\/]$/.test(this.basePath)
      ? this.basePath
      : `${this.basePath}/`;
    this.name = normalizeProviderName(options.name ?? "default");
    this.active = records.flag(options.active ?? true, "active");
    this.fsync = records.flag(options.fsync ?? false, "fsync");
    const rescan = options.rescanIntervalMs ?? 1000;
    if (typeof rescan !== "number" || !(rescan >= 0)) {
      throw new InvalidRecordError(
        `Invalid rescanIntervalMs ${
          describeValue(rescan)
        }: expected milliseconds ≥ 0`,
      );
    }
    this.#rescanIntervalMs = rescan;
  }

  /**
   * Creates a record, atomically: a temp file linked into place, so that an
   * existing record is never replaced; with `overwrite: true`, renamed into
   * place under the folder's lock, replacing whatever is there.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @param options With `overwrite: true`, an existing record is replaced.
   * @returns Nothing.
   * @throws {AlreadyExistsError} When the record exists (and `overwrite` is
   *   not set).
   * @throws {StorageError} When the filesystem refuses.
   */
  async upload(
    storagePath: string,
    id: string,
    content: object,
    options?: UploadOptions,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const overwrite = records.flag(options?.overwrite ?? false, "overwrite");
    const replaced = await this.#write(
      storagePath,
      id,
      await records.serializeInSlices(content, record),
      overwrite ? PUT : CREATE,
    );
    const listing = this.#listings.get(storagePath);
    if (listing === undefined) return;
    if (replaced) {
      // The new file has a new time, which makes the record the newest.
      listing.times.delete(id);
      listing.stale = true;
    } else if (!listing.stale) {
      // A new file is the newest of its folder, so it goes last in the listing.
      listing.ids.push(id);
    }
  }

  /**
   * Reads a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options Whether to keep numbers exactly.
   * @returns The content.
   * @throws {NotFoundError} When the record does not exist.
   * @throws {CorruptRecordError} When the file is not a JSON object.
   * @throws {StorageError} When the filesystem refuses.
   */
  get(
    storagePath: string,
    id: string,
    options?: GetOptions,
  ): Promise<JsonObject> {
    return settle(() => {
      records.check(this, storagePath, id);
      const record = records.name(storagePath, id);
      const file = this.#file(storagePath, id);
      // A record that may be large is read in pieces (asking its size costs
      // a few microseconds, so small kinds of records are not asked).
      if (options?.exact || !mayHoldLargeRecords(storagePath)) {
        return readRecord(file, record, "read", options);
      }
      return readRecordFile(file, record, this.#buffers);
    });
  }

  /**
   * Checks that a record can be renamed from each folder of a pair to the
   * other: both folders exist and are on one filesystem.
   *
   * @param pairs Pairs of storage paths, `[from, to]`.
   * @returns Nothing.
   * @throws {StorageError} With code `EXDEV` when two folders are on different filesystems.
   */
  checkMoves(pairs: [from: string, to: string][]): Promise<void> {
    return settle(() => {
      for (const [from, to] of pairs) {
        records.check(this, from);
        records.check(this, to);
        const key = `${from}\0${to}`;
        if (this.#atomicMoves.get(key)) continue;
        const what = `Cannot move records from ${from} to ${to}`;
        const devices = [from, to].map((path) => {
          makeFolder(this.#root + path, what);
          try {
            return Deno.statSync(this.#root + path).dev;
          } catch (error) {
            throw storageError(error, what);
          }
        });
        if (devices[0] !== devices[1]) {
          throw new StorageError(
            `${what}: ${from} and ${to} are on different filesystems, so a move between them cannot be atomic; keep both folders on one filesystem`,
            { code: "EXDEV" },
          );
        }
        this.#atomicMoves.set(key, true);
      }
    });
  }

  /**
   * When a record's file was last written: its modification time, which a
   * `move` keeps.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @returns Milliseconds since the epoch, or `undefined` when there is no such record.
   * @throws {StorageError} When the filesystem refuses.
   */
  writtenAt(storagePath: string, id: string): Promise<number | undefined> {
    return settle(() => {
      records.check(this, storagePath, id);
      try {
        return Deno.lstatSync(this.#file(storagePath, id)).mtime?.getTime();
      } catch (error) {
        const code = errorCode(error);
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        throw failure(error, "stat", records.name(storagePath, id));
      }
    });
  }

  /**
   * Replaces an existing record's content, atomically, while holding the
   * folder's lock, so that a record deleted or moved away meanwhile is not
   * brought back.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @param options A precondition on the current content.
   * @returns Nothing.
   * @throws {NotFoundError} When the record does not exist.
   * @throws {CorruptRecordError} When `check` is given and the file is not a JSON object.
   * @throws {StorageError} When the filesystem refuses.
   */
  async update(
    storagePath: string,
    id: string,
    content: object,
    options?: RecordCheck,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const pieces = await records.serializeInSlices(content, record);
    await this.#write(storagePath, id, pieces, { check: options?.check });
    const listing = this.#listings.get(storagePath);
    // The new file has a new time, which makes the record the newest.
    if (listing !== undefined) {
      listing.times.delete(id);
      listing.stale = true;
    }
  }

  /**
   * Moves a record to another folder with one `rename`, holding both
   * folders' locks.
   *
   * @param fromPath The folder it is in.
   * @param toPath The folder it goes to.
   * @param id The record's id.
   * @returns Nothing.
   * @throws {NotFoundError} When the record is not in `fromPath`.
   * @throws {StorageError} When the filesystem refuses, e.g. because the
   * folders are on different filesystems.
   */
  async move(fromPath: string, toPath: string, id: string): Promise<void> {
    records.check(this, fromPath, id);
    records.check(this, toPath);
    if (!this.#moveOut(fromPath, toPath, id)) {
      throw new NotFoundError(
        `Cannot move ${records.name(fromPath, id)}: it does not exist`,
      );
    }
    const listing = this.#listings.get(toPath);
    // The file keeps its time, so it may belong anywhere in the listing.
    if (listing !== undefined) listing.stale = true;
    if (this.fsync) await this.#syncMove(fromPath, toPath, id);
  }

  /**
   * Moves the oldest file of a folder to another folder. The folder is listed
   * (and new files' times read) once, then taken from in order; a file that
   * another process took first is skipped. It is listed again when the listing
   * is used up or older than `rescanIntervalMs`.
   *
   * @param fromPath The folder to take from.
   * @param toPath The folder it goes to.
   * @param options What to do before each candidate is moved, and after it was lost.
   * @returns The moved file's id, or `undefined` when `fromPath` is empty
   * (or `prepare` refused every candidate).
   * @throws {StorageError} When the filesystem refuses; `rollback` was then
   * called for the candidate that `prepare` accepted.
   */
  async moveOldest(
    fromPath: string,
    toPath: string,
    options?: MoveOldestOptions,
  ): Promise<string | undefined> {
    records.check(this, fromPath);
    records.check(this, toPath);
    const prepare = options?.prepare;
    const rollback = options?.rollback;
    const listing = this.#listing(fromPath);
    // Candidates that `prepare` refused (or failed on) keep their place; the
    // listing's generation tells whether their slots are still there.
    const skipped: string[] = [];
    let generation = listing.generation;
    let relisted = false;
    try {
      for (;;) {
        const exhausted = listing.head >= listing.ids.length;
        const interval = this.#rescanIntervalMs *
          Math.max(1, listing.scanMs / RELIST_BUDGET_MS);
        if (
          !relisted && (exhausted || listing.stale ||
            performance.now() - listing.listedAt > interval)
        ) {
          await this.#relist(fromPath, listing);
          relisted = true;
          if (skipped.length === 0) generation = listing.generation;
          continue;
        }
        // A folder that was listed during this call and is used up is empty.
        if (exhausted) return undefined;
        const id = listing.ids[listing.head++];
        listing.held.add(id);
        if (prepare !== undefined) {
          let accepted: boolean;
          try {
            accepted = await prepare(id);
          } catch (error) {
            skipped.push(id);
            throw error;
          }
          if (!accepted) {
            skipped.push(id);
            continue;
          }
        }
        let moved: boolean;
        try {
          moved = this.#moveOut(fromPath, toPath, id);
        } catch (error) {
          skipped.push(id);
          if (prepare !== undefined) await rollback?.(id);
          throw error;
        }
        listing.held.delete(id);
        listing.times.delete(id);
        if (moved) {
          const target = this.#listings.get(toPath);
          if (target !== undefined) target.stale = true;
          if (this.fsync) await this.#syncMove(fromPath, toPath, id);
          return id;
        }
        // Another process (or tool) moved it first.
        if (prepare !== undefined) await rollback?.(id);
      }
    } finally {
      if (skipped.length > 0) restore(listing, skipped, generation);
    }
  }

  /**
   * Deletes a record, holding the folder's lock.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options A precondition on the current content.
   * @returns Nothing.
   * @throws {NotFoundError} When the record does not exist.
   * @throws {CorruptRecordError} When `check` is given and the file is not a JSON object.
   * @throws {StorageError} When the filesystem refuses.
   */
  async delete(
    storagePath: string,
    id: string,
    options?: RecordCheck,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const file = this.#file(storagePath, id);
    const check = options?.check;
    this.#locked([storagePath], `Cannot delete ${record}`, () => {
      if (check !== undefined) check(readRecord(file, record, "delete"));
      try {
        Deno.removeSync(file);
      } catch (error) {
        throw failure(error, "delete", record);
      }
    });
    if (this.fsync) await this.#syncFolder(storagePath, record);
  }

  /**
   * Lists the ids in a folder, oldest first (by modification time, creation
   * time, inode number, then id). Files whose names are not `<id>.json` are
   * left out.
   *
   * @param storagePath The folder.
   * @returns The ids; `[]` when the folder does not exist.
   * @throws {StorageError} When the filesystem refuses.
   */
  async list(storagePath: string): Promise<string[]> {
    records.check(this, storagePath);
    return (await this.#scan(storagePath, new Map())).fresh.map(([id]) => id);
  }

  /**
   * Removes the temp files that writes of killed processes left behind, in
   * every `.tmp` folder of the storage: the one in `basePath` and those on
   * other filesystems that folders of the storage link to. They are found by
   * looking through the storage's folders, so that a sweep also finds what
   * other processes left. A file that a write is using is seconds old at
   * most, so the default of one hour never takes one.
   *
   * @param options How old, in milliseconds, a temp file must be (by its
   * modification time) to go, and the clock.
   * @returns How many temp files were removed.
   * @throws {InvalidRecordError} When an option is not acceptable.
   * @throws {StorageError} When the filesystem refuses.
   *
   * @example Sweep what a killed writer left
   * ```ts
   * import assert from "node:assert/strict";
   * import { LocalAdapter } from "@sqooler/storage";
   *
   * const basePath = await Deno.makeTempDir();
   * try {
   *   await Deno.mkdir(`${basePath}/.tmp`);
   *   await Deno.writeTextFile(`${basePath}/.tmp/abc.0f3c.tmp`, '{"job_id": "a');
   *   const adapter = new LocalAdapter({ basePath });
   *   assert.equal(await adapter.sweepTempFiles(), 0); // written just now
   *   const inTwoHours = () => Date.now() + 2 * 3_600_000;
   *   assert.equal(await adapter.sweepTempFiles({ now: inTwoHours }), 1);
   * } finally {
   *   await Deno.remove(basePath, { recursive: true });
   * }
   * ```
   */
  async sweepTempFiles(
    options: { olderThanMs?: number; now?: () => number } = {},
  ): Promise<number> {
    if (!this.active) {
      throw new InactiveStorageError(
        `Storage "${this.name}" is not active; it refuses every operation`,
      );
    }
    const olderThanMs = options?.olderThanMs ?? HOUR_MS;
    if (typeof olderThanMs !== "number" || !(olderThanMs >= 0)) {
      throw new InvalidRecordError(
        `Invalid olderThanMs ${
          describeValue(olderThanMs)
        }: expected milliseconds ≥ 0`,
      );
    }
    const now = options?.now ?? Date.now;
    if (typeof now !== "function") {
      throw new InvalidRecordError(
        `Invalid now ${describeValue(now)}: expected a function`,
      );
    }
    const cutoff = now() - olderThanMs;
    if (!Number.isFinite(cutoff)) {
      throw new InvalidRecordError(
        `Invalid now(): it gave ${describeValue(now())}, not milliseconds`,
      );
    }
    let removed = 0;
    for await (const folder of this.#tempFolders()) {
      removed += await sweepFolder(folder, cutoff, this.#relative(folder));
    }
    return removed;
  }

  /**
   * Closes the folders that this adapter keeps open for its locks. The
   * adapter stays usable and opens them again when it needs them; call this
   * when it is no longer used, e.g. at the end of a test that checks for
   * open resources.
   *
   * @example Close an adapter at the end of a test
   * ```ts
   * import { LocalAdapter } from "@sqooler/storage";
   *
   * const basePath = await Deno.makeTempDir();
   * try {
   *   using adapter = new LocalAdapter({ basePath });
   *   await adapter.upload("status/fermions", "abc", { job_id: "abc" });
   *   await adapter.update("status/fermions", "abc", { job_id: "abc", status: "DONE" });
   * } finally {
   *   await Deno.remove(basePath, { recursive: true });
   * }
   * ```
   */
  close(): void {
    this.#handles.clear();
    this.#handleDrops++;
  }

  /** The same as {@linkcode LocalAdapter.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #file(storagePath: string, id: string): string {
    // Path and id were checked, so plain joining is safe; node:path's join
    // costs about 0.3 µs, and a lifecycle joins some twenty paths.
    return `${this.#root}${storagePath}/${id}.json`;
  }

  /** A path below `basePath` as the storage calls it, for messages. */
  #relative(path: string): string {
    return path.startsWith(this.#root) ? path.slice(this.#root.length) : path;
  }

  #listing(storagePath: string): Listing {
    let listing = this.#listings.get(storagePath);
    if (listing === undefined) {
      listing = {
        ids: [],
        head: 0,
        times: new Map(),
        held: new Set(),
        generation: 0,
        listedAt: -Infinity,
        scanMs: 0,
        stale: true,
        refreshing: undefined,
      };
      this.#listings.set(storagePath, listing);
    }
    return listing;
  }

  /**
   * Runs `work` while holding the locks of `folders`: an exclusive `flock` on
   * each folder that exists, taken in the order of the folders' inodes, so
   * that two processes that lock the same folders never wait for each other
   * in a circle. `work` must be synchronous: the locks are held only while
   * this thread does nothing else, for some microseconds.
   */
  #locked<T>(folders: readonly string[], what: string, work: () => T): T {
    let handles: FolderHandle[];
    for (;;) {
      const drops = this.#handleDrops;
      handles = [];
      for (const folder of folders) {
        const handle = this.#handle(folder, what);
        if (
          handle !== undefined && !handles.some((h) => h.key === handle.key)
        ) {
          handles.push(handle);
        }
      }
      // Running out of file descriptors closes every kept handle; then the
      // ones opened before are closed too, and all are opened again.
      if (drops === this.#handleDrops) break;
    }
    if (handles.length > 1) {
      handles.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    }
    let locked = 0;
    try {
      for (const handle of handles) {
        try {
          handle.file.lockSync(true);
        } catch (error) {
          throw storageError(error, what);
        }
        locked++;
      }
      return work();
    } finally {
      for (let i = locked - 1; i >= 0; i--) this.#unlock(handles[i]);
    }
  }

  /** The open folder for a lock; `undefined` when the folder does not exist. */
  #handle(storagePath: string, what: string): FolderHandle | undefined {
    const known = this.#handles.get(storagePath);
    if (known !== undefined) return known;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.#root + storagePath, { read: true });
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      if ((code === "EMFILE" || code === "ENFILE") && this.#handles.size > 0) {
        this.close();
        return this.#handle(storagePath, what);
      }
      throw storageError(error, what);
    }
    let key: string;
    try {
      const info = file.statSync();
      key = `${info.dev}:${info.ino}`;
    } catch (error) {
      file.close();
      throw storageError(error, what);
    }
    const handle = { file, key };
    this.#handles.set(storagePath, handle);
    return handle;
  }

  #unlock(handle: FolderHandle): void {
    try {
      handle.file.unlockSync();
    } catch {
      // Closing the folder releases its lock for certain.
      for (const path of this.#handles.keysOf(handle)) {
        this.#handles.delete(path);
      }
    }
  }

  /**
   * Renames `from/id.json` to `to/id.json` under both folders' locks.
   *
   * @returns False when the source is missing.
   */
  #moveOut(fromPath: string, toPath: string, id: string): boolean {
    const record = records.name(fromPath, id);
    const what = `Cannot move ${record} to ${toPath}`;
    const source = this.#file(fromPath, id);
    const target = this.#file(toPath, id);
    for (let attempt = 0;; attempt++) {
      const outcome = this.#locked([fromPath, toPath], what, () => {
        try {
          Deno.renameSync(source, target);
          return "moved";
        } catch (error) {
          const code = errorCode(error);
          if (code === "EXDEV") {
            throw new StorageError(
              `${what}: ${fromPath} and ${toPath} are on different filesystems, so the move cannot be atomic; keep both folders on one filesystem`,
              { code, cause: error },
            );
          }
          if (code !== "ENOENT" && code !== "ENOTDIR") {
            throw storageError(error, what);
          }
          // The source is gone, or the target's folder does not exist yet.
          if (!exists(source)) return "missing";
          if (attempt > 0) throw storageError(error, what);
          return "no folder";
        }
      });
      if (outcome !== "no folder") return outcome === "moved";
      // Made outside the locks; the move then takes both folders' locks.
      makeFolder(this.#root + toPath, what);
    }
  }

  /**
   * Writes a file atomically: a temp file on the folder's filesystem, then
   * placed by `how`: {@linkcode CREATE} links it (the record must not exist),
   * {@linkcode PUT} renames it over whatever is there under the folder's
   * lock, and a {@linkcode RecordCheck} renames it over the existing record,
   * under the folder's lock and after the check.
   *
   * @returns Whether an existing record was replaced; a {@linkcode PUT} tells
   *   only while this adapter keeps a listing of the folder (else `false`).
   */
  async #write(
    storagePath: string,
    id: string,
    pieces: string[],
    how: typeof CREATE | typeof PUT | RecordCheck,
  ): Promise<boolean> {
    const record = records.name(storagePath, id);
    // An update replaces a record that exists; the others may create one.
    const creates = how === CREATE || how === PUT;
    const what = `Cannot ${creates ? "create" : "update"} ${record}`;
    const target = this.#file(storagePath, id);
    const data = await encodePieces(pieces);
    let replaced = false;
    for (let attempt = 0;; attempt++) {
      const tempFolder = this.#tempFolder(storagePath, creates, what);
      const temp = `${tempFolder}/${id}.${crypto.randomUUID()}.tmp`;
      let placed = false;
      try {
        const stamp = keepsWriteOrder(storagePath)
          ? this.#stamp(storagePath)
          : undefined;
        await this.#writeTemp(temp, data, stamp, what);
        if (how === CREATE) {
          this.#link(temp, target, storagePath, what);
        } else if (how === PUT) {
          replaced = this.#put(temp, target, storagePath, what);
        } else {
          const check = how.check;
          this.#locked([storagePath], what, () => {
            if (check !== undefined) {
              check(readRecord(target, record, "update"));
            } else if (!exists(target)) {
              throw new NotFoundError(`${what}: it does not exist`);
            }
            try {
              Deno.renameSync(temp, target);
            } catch (error) {
              // The record is there (checked under the lock): the storage failed.
              throw storageError(error, what);
            }
          });
          replaced = true;
        }
        placed = true;
      } catch (error) {
        // The folder moved to another filesystem since its temp place was
        // decided: decide again, once.
        if (
          attempt === 0 && error instanceof StorageError &&
          error.code === "EXDEV"
        ) {
          this.#places.delete(storagePath);
          continue;
        }
        throw error;
      } finally {
        // A rename consumed the temp file; a link leaves it behind.
        if (how === CREATE || !placed) tryRemove(temp);
      }
      break;
    }
    if (this.fsync) await this.#syncFolder(storagePath, record);
    return replaced;
  }

  /**
   * Renames a written temp file into place under the folder's lock, whether
   * or not the record exists.
   *
   * @returns Whether a record was replaced, when this adapter keeps a listing
   *   of the folder (which must then learn of it); else `false`.
   */
  #put(temp: string, target: string, storagePath: string, what: string) {
    const watched = this.#listings.has(storagePath);
    for (let attempt = 0;; attempt++) {
      const outcome = this.#locked([storagePath], what, () => {
        const existed = watched && exists(target);
        try {
          Deno.renameSync(temp, target);
          return existed;
        } catch (error) {
          const code = errorCode(error);
          if (code !== "ENOENT" || attempt > 0) {
            throw storageError(error, what);
          }
          return "no folder";
        }
      });
      if (outcome !== "no folder") return outcome;
      // Made outside the lock; the rename then takes the folder's lock.
      makeFolder(this.#root + storagePath, what);
    }
  }

  /** Links a written temp file into place; the record must not exist. */
  #link(temp: string, target: string, storagePath: string, what: string) {
    for (let attempt = 0;; attempt++) {
      try {
        Deno.linkSync(temp, target);
        return;
      } catch (error) {
        const code = errorCode(error);
        if (code === "EEXIST") {
          throw new AlreadyExistsError(`${what}: it exists`, { cause: error });
        }
        if (code !== "ENOENT" || attempt > 0) throw storageError(error, what);
        // Someone removed the folder since it was made.
        makeFolder(this.#root + storagePath, what);
      }
    }
  }

  /**
   * The time to give a file written into `storagePath` now: the clock, or
   * 1 ms after this adapter's last write there, at most STAMP_LEAD_MS ahead.
   */
  #stamp(storagePath: string): number {
    const now = Date.now();
    const last = this.#stamps.get(storagePath) ?? -Infinity;
    const stamp = Math.min(Math.max(now, last + 1), now + STAMP_LEAD_MS);
    this.#stamps.set(storagePath, Math.max(stamp, last));
    return stamp;
  }

  /**
   * The `.tmp` folder for writes into `storagePath`: in the highest folder
   * from `basePath` down that is on the same filesystem as `storagePath`, so
   * that the temp file can be linked or renamed into place. Decided once per
   * folder. Makes the records folder when `create` is true.
   */
  #tempFolder(storagePath: string, create: boolean, what: string): string {
    const known = this.#places.get(storagePath);
    if (known !== undefined) return known;
    const folder = this.#root + storagePath;
    let device: number;
    try {
      device = Deno.statSync(folder).dev;
    } catch (error) {
      const code = errorCode(error);
      if (code !== "ENOENT" && !(code === "ENOTDIR" && !create)) {
        throw storageError(error, what);
      }
      if (!create) throw new NotFoundError(`${what}: it does not exist`);
      makeFolder(folder, what);
      device = statOf(folder, what).dev;
    }
    const segments = storagePath.split("/");
    let home: string | undefined;
    for (let depth = 0; depth < segments.length && !home; depth++) {
      const ancestor = this.#root + segments.slice(0, depth).join("/");
      if (statOf(ancestor, what).dev === device) home = ancestor;
    }
    if (home === undefined) {
      throw new StorageError(
        `${what}: the folder ${storagePath} is on another filesystem than every folder above it in the storage, so there is no place on its filesystem for the temp files that make writes atomic; link or mount the folder above it instead`,
        { code: "EXDEV" },
      );
    }
    const temp = home.endsWith("/") ? `${home}${TEMP}` : `${home}/${TEMP}`;
    makeFolder(temp, what);
    this.#places.set(storagePath, temp);
    return temp;
  }

  async #writeTemp(
    temp: string,
    data: Uint8Array[],
    stamp: number | undefined,
    what: string,
  ): Promise<void> {
    const time = stamp === undefined ? undefined : new Date(stamp);
    for (let attempt = 0;; attempt++) {
      try {
        if (!this.fsync && data.length === 1 && data[0].length <= SYNC_LIMIT) {
          Deno.writeFileSync(temp, data[0], { createNew: true });
          if (time !== undefined) Deno.utimeSync(temp, time, time);
          return;
        }
        const file = await Deno.open(temp, { write: true, createNew: true });
        try {
          for (const piece of data) {
            let written = 0;
            while (written < piece.length) {
              written += await file.write(piece.subarray(written));
            }
          }
          if (time !== undefined) await file.utime(time, time);
          if (this.fsync) await file.sync();
        } finally {
          file.close();
        }
        return;
      } catch (error) {
        tryRemove(temp);
        if (errorCode(error) !== "ENOENT" || attempt > 0) {
          throw storageError(error, what);
        }
        // Someone removed the temp folder; make it again.
        makeFolder(temp.slice(0, temp.lastIndexOf("/")), what);
      }
    }
  }

  async #syncFolder(storagePath: string, record: string): Promise<void> {
    try {
      await syncFolder(this.#root + storagePath);
    } catch (error) {
      throw storageError(error, `Cannot sync ${record} to disk`);
    }
  }

  async #syncMove(fromPath: string, toPath: string, id: string) {
    await this.#syncFolder(toPath, records.name(toPath, id));
    await this.#syncFolder(fromPath, records.name(fromPath, id));
  }

  /**
   * The `.tmp` folders below `basePath`, found by walking its folders (also
   * through links to other filesystems, each folder once), without entering
   * a `.tmp` folder.
   */
  async *#tempFolders(): AsyncGenerator<string> {
    const seen = new Set<string>();
    const pending = [this.basePath];
    while (pending.length > 0) {
      const folder = pending.pop()!;
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(folder);
      } catch (error) {
        const code = errorCode(error);
        if (code === "ENOENT" || code === "ENOTDIR") continue;
        throw storageError(error, `Cannot sweep ${this.#relative(folder)}`);
      }
      const key = `${info.dev}:${info.ino}`;
      if (!info.isDirectory || seen.has(key)) continue;
      seen.add(key);
      try {
        for await (const entry of Deno.readDir(folder)) {
          const path = `${folder}/${entry.name}`;
          if (entry.name === TEMP) yield path;
          else if (entry.isDirectory || entry.isSymlink) pending.push(path);
        }
      } catch (error) {
        const code = errorCode(error);
        if (code === "ENOENT" || code === "ENOTDIR") continue;
        throw storageError(error, `Cannot sweep ${this.#relative(folder)}`);
      }
    }
  }

  /**
   * Reads a folder: which of the `known` ids are still there, and the other
   * files' ids with their times, oldest first.
   */
  async #scan(
    storagePath: string,
    known: ReadonlyMap<string, FileTime>,
  ): Promise<{ present: string[]; fresh: [string, FileTime][] }> {
    const folder = this.#root + storagePath;
    const present: string[] = [];
    const unknown: string[] = [];
    try {
      for await (const entry of Deno.readDir(folder)) {
        const name = entry.name;
        if (!entry.isFile || !FILE.test(name)) continue;
        const id = name.slice(0, -".json".length);
        (known.has(id) ? present : unknown).push(id);
      }
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") {
        return { present: [], fresh: [] };
      }
      throw storageError(error, `Cannot list ${storagePath}`);
    }
    const fresh: [string, FileTime][] = [];
    // A synchronous lstat costs a few µs, one through the thread pool some
    // 15 µs; one async lstat per STAT_SLICE_MS lets the event loop run.
    let sliceStart = performance.now();
    for (const id of unknown) {
      const file = `${folder}/${id}.json`;
      let info: Deno.FileInfo;
      try {
        if (performance.now() - sliceStart < STAT_SLICE_MS) {
          info = Deno.lstatSync(file);
        } else {
          info = await Deno.lstat(file);
          sliceStart = performance.now();
        }
      } catch (error) {
        // A file that went away since the listing is simply not there.
        if (errorCode(error) === "ENOENT") continue;
        throw storageError(error, `Cannot list ${storagePath}`);
      }
      fresh.push([id, {
        mtime: info.mtime?.getTime() ?? 0,
        birth: info.birthtime?.getTime() ?? 0,
        ino: info.ino ?? 0,
      }]);
    }
    return { present, fresh: fresh.sort(byAge) };
  }

  /**
   * Lists a folder again. The rest of the last listing keeps its order and
   * its times; only new files are read and merged in, and files that went
   * away (to another process) are left out. No full sort, no rebuilt map.
   * Held ids (in the hands of a `moveOldest` call) stay out of the listing.
   */
  #relist(storagePath: string, listing: Listing): Promise<void> {
    listing.refreshing ??= (async () => {
      try {
        const startedAt = performance.now();
        const { times, held } = listing;
        const { present, fresh } = await this.#scan(storagePath, times);
        // Taken or rewritten records have no time any more; they are left out.
        let rest = listing.ids.slice(listing.head).filter((id) =>
          times.has(id) && !held.has(id)
        );
        if (present.length < times.size) {
          const there = new Set(present);
          for (const id of times.keys()) {
            if (!there.has(id)) times.delete(id);
          }
          rest = rest.filter((id) => times.has(id));
        }
        const added = fresh.filter(([id]) => !held.has(id));
        for (const [id, time] of fresh) times.set(id, time);
        listing.ids = merge(rest, added, times);
        listing.head = 0;
        listing.generation++;
        listing.listedAt = startedAt;
        listing.scanMs = performance.now() - startedAt;
        listing.stale = false;
      } finally {
        listing.refreshing = undefined;
      }
    })();
    return listing.refreshing;
  }
}

/**
 * A `Map` that forgets its least recently used entry when it would hold more
 * than `limit`, handing each forgotten value to `forget`. A lookup only
 * notes the time of use; the search for the least recently used entry
 * happens when one must go.
 */
class RecentMap<K, V> {
  #map = new Map<K, { value: V; used: number }>();
  #clock = 0;
  #limit: number;
  #forget: ((value: V) => void) | undefined;

  constructor(limit: number, forget?: (value: V) => void) {
    this.#limit = limit;
    this.#forget = forget;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    entry.used = ++this.#clock;
    return entry.value;
  }

  set(key: K, value: V): void {
    const entry = this.#map.get(key);
    if (entry !== undefined) {
      if (entry.value !== value) this.#forget?.(entry.value);
      entry.value = value;
      entry.used = ++this.#clock;
      return;
    }
    if (this.#map.size >= this.#limit) {
      let oldest: K | undefined;
      let used = Infinity;
      for (const [k, e] of this.#map) {
        if (e.used < used) [oldest, used] = [k, e.used];
      }
      this.delete(oldest as K);
    }
    this.#map.set(key, { value, used: ++this.#clock });
  }

  delete(key: K): void {
    const entry = this.#map.get(key);
    if (entry === undefined) return;
    this.#map.delete(key);
    this.#forget?.(entry.value);
  }

  /** The keys whose value is `value`. */
  keysOf(value: V): K[] {
    return [...this.#map].filter(([, e]) => e.value === value).map(([k]) => k);
  }

  clear(): void {
    const values = [...this.#map.values()].map((e) => e.value);
    this.#map.clear();
    for (const value of values) this.#forget?.(value);
  }
}

/**
 * Puts the candidates that a `moveOldest` call skipped (oldest first) back at
 * the head of the listing. When the listing was not rebuilt since they were
 * taken, their old slots before `head` are free; else they are merged in by
 * time.
 */
function restore(listing: Listing, skipped: string[], generation: number) {
  for (const id of skipped) listing.held.delete(id);
  if (listing.generation === generation && listing.head >= skipped.length) {
    listing.head -= skipped.length;
    for (let i = 0; i < skipped.length; i++) {
      listing.ids[listing.head + i] = skipped[i];
    }
    return;
  }
  const times = listing.times;
  const timed = skipped.filter((id) => times.has(id));
  // An id without a time (an upload appended it) is found by the next listing.
  if (timed.length < skipped.length) listing.stale = true;
  listing.ids = merge(
    listing.ids.slice(listing.head),
    timed.map((id): [string, FileTime] => [id, times.get(id)!]).sort(byAge),
    times,
  );
  listing.head = 0;
}

/** Oldest first: by modification time, creation time, inode, then id. */
function byAge(a: [string, FileTime], b: [string, FileTime]): number {
  const x = a[1], y = b[1];
  return x.mtime - y.mtime || x.birth - y.birth || x.ino - y.ino ||
    (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * Merges ids that are oldest first with new `[id, time]` pairs that are too.
 * An id without a time (an upload this adapter appended) counts as newest.
 */
function merge(
  ids: string[],
  fresh: [string, FileTime][],
  times: ReadonlyMap<string, FileTime>,
): string[] {
  if (fresh.length === 0) return ids;
  const merged: string[] = new Array(ids.length + fresh.length);
  let i = 0, j = 0, k = 0;
  while (i < ids.length && j < fresh.length) {
    const time = times.get(ids[i]);
    merged[k++] = time !== undefined && byAge([ids[i], time], fresh[j]) <= 0
      ? ids[i++]
      : fresh[j++][0];
  }
  while (i < ids.length) merged[k++] = ids[i++];
  while (j < fresh.length) merged[k++] = fresh[j++][0];
  return merged;
}

/** Removes the files in a `.tmp` folder last modified before `cutoff`. */
async function sweepFolder(
  folder: string,
  cutoff: number,
  name: string,
): Promise<number> {
  let removed = 0;
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (!entry.isFile) continue;
      const path = `${folder}/${entry.name}`;
      try {
        const mtime = (await Deno.lstat(path)).mtime?.getTime();
        if (mtime === undefined || mtime >= cutoff) continue;
        await Deno.remove(path);
        removed++;
      } catch (error) {
        // Another sweep, or the write that made it, removed it first.
        if (errorCode(error) !== "ENOENT") throw error;
      }
    }
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return removed;
    throw storageError(error, `Cannot sweep the temp files in ${name}`);
  }
  return removed;
}

/** Reads and parses a record's file. */
function readRecord(
  file: string,
  record: string,
  action: string,
  options?: GetOptions,
): JsonObject {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    throw failure(error, action, record);
  }
  return records.parse(text, record, options);
}

/**
 * Reads a record's file: a small one as {@linkcode records.parse} reads it;
 * a large one (over {@linkcode SLICE_CHARS} bytes) in one go into a buffer
 * kept for the next read, then decoded a piece at a time as
 * {@linkcode records.parseStream} parses it in slices, so that the whole text is never one string. On these
 * VMs, making a 5 MB string, or filling a fresh 5 MB buffer, alone holds the
 * event loop for about 15 ms: fresh pages are slow to fault in; a kept
 * buffer is filled in under 1 ms. Reading in one go, as `readTextFileSync`
 * does, a file that another process rewrites in place is read no more torn
 * than before.
 */
function readRecordFile(
  file: string,
  record: string,
  buffers: ReadBuffers,
): JsonObject | Promise<JsonObject> {
  let handle: Deno.FsFile;
  try {
    handle = Deno.openSync(file, { read: true });
  } catch (error) {
    throw failure(error, "read", record);
  }
  let bytes: Uint8Array;
  let buffer: Uint8Array;
  try {
    let size: number;
    try {
      size = handle.statSync().size;
    } catch (error) {
      throw failure(error, "read", record);
    }
    if (size <= SLICE_CHARS) {
      return records.parse(readAllSync(handle, size, record), record);
    }
    buffer = buffers.take(size + 1);
    try {
      [bytes, buffer] = readIntoSync(handle, buffer);
    } catch (error) {
      buffers.give(buffer);
      throw failure(error, "read", record);
    }
  } finally {
    handle.close();
  }
  const decoder = textDecoder();
  let at = 0;
  let ended = false;
  const pieces: TextStream = {
    next() {
      if (ended) return Promise.resolve(undefined);
      if (at < bytes.length) {
        const piece = bytes.subarray(at, at + SLICE_CHARS);
        at += piece.length;
        return Promise.resolve(decoder.decode(piece, { stream: true }));
      }
      // What the decoder held back: a character cut off at the end.
      ended = true;
      return Promise.resolve(decoder.decode() || undefined);
    },
    whole: () => Promise.resolve(textDecoder().decode(bytes)),
  };
  return records.parseStream(pieces, record).finally(() =>
    buffers.give(buffer)
  );
}

/**
 * Reads an open file to its end into `buffer`, growing it when the file is
 * larger (it may have grown since its size was taken).
 *
 * @returns The bytes read, and the buffer that holds them.
 */
function readIntoSync(
  handle: Deno.FsFile,
  buffer: Uint8Array,
): [Uint8Array, Uint8Array] {
  let length = 0;
  while (true) {
    if (length === buffer.length) {
      const larger = new Uint8Array(buffer.length * 2);
      larger.set(buffer);
      buffer = larger;
    }
    const read = handle.readSync(buffer.subarray(length));
    if (read === null) break;
    length += read;
  }
  return [buffer.subarray(0, length), buffer];
}

/**
 * Buffers for reading large files, kept between reads so that their pages
 * are faulted in once: at most {@linkcode MAX_KEPT_BUFFERS}, each of at most
 * {@linkcode MAX_KEPT_BUFFER_BYTES}. A buffer is lent to one read at a time.
 */
class ReadBuffers {
  #free: Uint8Array[] = [];

  /** A buffer of at least `size` bytes: a kept one, or a new one. */
  take(size: number): Uint8Array {
    const index = this.#free.findIndex((buffer) => buffer.length >= size);
    if (index >= 0) return this.#free.splice(index, 1)[0];
    return new Uint8Array(Math.ceil(size * 1.25));
  }

  /** Takes a buffer back after its read, to keep it when there is room. */
  give(buffer: Uint8Array): void {
    if (buffer.length > MAX_KEPT_BUFFER_BYTES) return;
    this.#free.push(buffer);
    this.#free.sort((a, b) => a.length - b.length);
    if (this.#free.length > MAX_KEPT_BUFFERS) this.#free.shift();
  }
}

/** As Deno.readTextFileSync decodes: a byte order mark is kept, and bytes that are not UTF-8 become U+FFFD. */
function textDecoder(): TextDecoder {
  return new TextDecoder("utf-8", { ignoreBOM: true });
}

/** The text of an open file, read to its end (it may have grown since its size was taken). */
function readAllSync(
  handle: Deno.FsFile,
  size: number,
  record: string,
): string {
  let bytes: Uint8Array;
  try {
    [bytes] = readIntoSync(handle, new Uint8Array(size + 1));
  } catch (error) {
    throw failure(error, "read", record);
  }
  return textDecoder().decode(bytes);
}

/**
 * The UTF-8 bytes of a record's text pieces, piece by piece, letting the
 * event loop run between pieces of a large record.
 */
async function encodePieces(pieces: string[]): Promise<Uint8Array[]> {
  const encoder = new TextEncoder();
  if (pieces.length === 1) return [encoder.encode(pieces[0])];
  const pacer = createPacer();
  const data: Uint8Array[] = [];
  let run: string[] = [];
  let runLength = 0;
  for (let i = 0; i <= pieces.length; i++) {
    if (i === pieces.length || runLength >= SLICE_CHARS) {
      data.push(encoder.encode(run.join("")));
      run = [];
      runLength = 0;
      await pacer.pace();
      if (i === pieces.length) break;
    }
    run.push(pieces[i]);
    runLength += pieces[i].length;
  }
  return data;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function statOf(path: string, what: string): Deno.FileInfo {
  try {
    return Deno.statSync(path);
  } catch (error) {
    throw storageError(error, what);
  }
}

function makeFolder(path: string, what: string): void {
  try {
    Deno.mkdirSync(path, { recursive: true });
  } catch (error) {
    throw storageError(error, what);
  }
}

function tryRemove(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone, or never made; nothing to clean up.
  }
}

async function syncFolder(path: string): Promise<void> {
  const folder = await Deno.open(path, { read: true });
  try {
    await folder.sync();
  } finally {
    folder.close();
  }
}

/**
 * Turns a filesystem error about a record into this library's error: a
 * missing file is {@linkcode NotFoundError}, a folder where the file should be
 * {@linkcode CorruptRecordError}, anything else {@linkcode StorageError}.
 */
function failure(error: unknown, action: string, record: string): Error {
  const code = errorCode(error);
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new NotFoundError(`Cannot ${action} ${record}: it does not exist`);
  }
  if (code === "EISDIR") {
    return new CorruptRecordError(record, "it is a folder, not a file");
  }
  return storageError(error, `Cannot ${action} ${record}`);
}

/** What a failure of the operating system means, for messages. */
const REASONS: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "the operation is not permitted",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  EMFILE: "this process has too many open files",
  ENFILE: "the system has too many open files",
  EROFS: "the filesystem is read-only",
  EIO: "an input/output error of the device",
  EXDEV: "the folders are on different filesystems",
  ENOTDIR: "a part of its path is a file, not a folder",
  EISDIR: "it is a folder, not a file",
  EEXIST: "a file is in the way of a folder",
  ELOOP: "its path has a loop of symbolic links",
  ENAMETOOLONG: "its path is too long",
  EBUSY: "the file or device is busy",
  ETXTBSY: "the file is busy",
  ESTALE: "the file handle of a network filesystem went stale",
  ENOLCK: "the filesystem has no locks left",
  EAGAIN: "the resource is temporarily unavailable",
  EINVAL: "the operation is not valid for this file or filesystem",
  ENOTEMPTY: "a folder that should be empty is not",
};

/**
 * Turns an error of the runtime into a {@linkcode StorageError} whose
 * message is `<what>: <reason> (<code>)`. Errors of this library pass as
 * they are.
 */
function storageError(error: unknown, what: string): SqoolerError {
  if (error instanceof SqoolerError) return error;
  const code = errorCode(error);
  let reason = code === undefined ? undefined : REASONS[code];
  if (reason === undefined) {
    // Deno's messages read "<reason> (os error N): <call> '<path>'".
    const message = String((error as Error)?.message ?? error).split("\n")[0];
    reason = message.replace(/^(.*?\(os error \d+\)):.*$/, "$1");
  }
  return new StorageError(
    `${what}: ${reason}${code === undefined ? "" : ` (${code})`}`,
    { code, cause: error },
  );
}

/**
 * The operating system's name of an error, e.g. `"ENOSPC"`: the `code` that
 * Deno sets on most errors, else the number in its message
 * (`"… (os error 28)"`), named by this platform's table.
 *
 * @internal Exported for the tests.
 * @param error What a call of the runtime threw.
 * @returns The name, or `undefined` when the error is not one of the system.
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  const number = /\(os error (\d+)\)/.exec(
    String((error as Error | null)?.message ?? ""),
  )?.[1];
  if (number === undefined) return undefined;
  for (const [name, value] of Object.entries(osConstants.errno)) {
    if (value === Number(number)) return name;
  }
  return undefined;
}
