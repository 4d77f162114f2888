/**
 * {@linkcode LocalAdapter}: the {@linkcode StorageAdapter} contract on the
 * local filesystem, in exactly sqooler's layout, so that sqooler's Python tools
 * and this library can share one folder.
 *
 * @module
 */

import { resolve } from "node:path";
import {
  type JsonObject,
  records,
  settle,
  type StorageAdapter,
} from "./adapter.ts";
import {
  AlreadyExistsError,
  CorruptRecordError,
  InvalidNameError,
  InvalidRecordError,
  NotFoundError,
} from "./errors.ts";
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
const TEMP = ".tmp";
// Records up to this size are read and written with synchronous calls: a few
// microseconds each, against about 30 µs for a trip through the thread pool.
const SYNC_LIMIT = 256 * 1024;
const STAT_SLICE_MS = 2;
// How long a periodic relisting may take per rescanIntervalMs.
const RELIST_BUDGET_MS = 50;

interface Listing {
  /** Ids in the order to take them. */
  ids: string[];
  /** Where the next take starts. */
  head: number;
  /** The files' times from the last listing, so that a relisting stats only new files. */
  times: Map<string, number>;
  listedAt: number;
  /** How long the last listing took, in milliseconds. */
  scanMs: number;
  stale: boolean;
  refreshing: Promise<void> | undefined;
}

/**
 * A {@linkcode StorageAdapter} on the local filesystem. A record
 * `(storagePath, id)` is the file `<basePath>/<storagePath>/<id>.json`.
 *
 * - Writes are atomic: the content goes to a temp file in `<basePath>/.tmp`,
 *   which is then renamed (or, to create, hard-linked) into place. A reader,
 *   in any process, sees the old file or the new one, never a part. sqooler's
 *   folders never hold temp files, because sqooler's Python worker would take
 *   any file in a queue folder for a job.
 * - `move` is one `rename`, so two processes that move the same file cannot
 *   both succeed.
 * - "Oldest first" is by the file's modification time, then by id (ids made by
 *   this library sort by creation time). A rename keeps the time, so a job that
 *   goes back to its queue is taken first.
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
  #folders = new Set<string>();
  #listings = new Map<string, Listing>();

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
   * Creates a record, atomically.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @returns Nothing.
   */
  async upload(
    storagePath: string,
    id: string,
    content: object,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    await this.#write(
      storagePath,
      id,
      records.serialize(content, record),
      true,
    );
    const listing = this.#listings.get(storagePath);
    // A new file is the newest of its folder, so it goes last in the listing.
    if (listing !== undefined && !listing.stale) listing.ids.push(id);
  }

  /**
   * Reads a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @returns The content.
   */
  get(storagePath: string, id: string): Promise<JsonObject> {
    return settle(() => {
      records.check(this, storagePath, id);
      const record = records.name(storagePath, id);
      let text: string;
      try {
        text = Deno.readTextFileSync(this.#file(storagePath, id));
      } catch (error) {
        throw translate(error, record, "read");
      }
      return records.parse(text, record);
    });
  }

  /**
   * Replaces an existing record's content, atomically.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object.
   * @returns Nothing.
   */
  async update(
    storagePath: string,
    id: string,
    content: object,
  ): Promise<void> {
    records.check(this, storagePath, id);
    const record = records.name(storagePath, id);
    const text = records.serialize(content, record);
    try {
      Deno.lstatSync(this.#file(storagePath, id));
    } catch (error) {
      throw translate(error, record, "update");
    }
    await this.#write(storagePath, id, text, false);
    const listing = this.#listings.get(storagePath);
    // The new file has a new time, which makes the record the newest.
    if (listing !== undefined) {
      listing.times.delete(id);
      listing.stale = true;
    }
  }

  /**
   * Moves a record to another folder with one `rename`.
   *
   * @param fromPath The folder it is in.
   * @param toPath The folder it goes to.
   * @param id The record's id.
   * @returns Nothing.
   */
  async move(fromPath: string, toPath: string, id: string): Promise<void> {
    records.check(this, fromPath, id);
    records.check(this, toPath);
    if (!(await this.#rename(fromPath, toPath, id))) {
      throw new NotFoundError(
        `Cannot move ${records.name(fromPath, id)}: it does not exist`,
      );
    }
    const listing = this.#listings.get(toPath);
    // The file keeps its time, so it may belong anywhere in the listing.
    if (listing !== undefined) listing.stale = true;
  }

  /**
   * Moves the oldest file of a folder to another folder. The folder is listed
   * (and new files' times read) once, then taken from in order; a file that
   * another process took first is skipped. It is listed again when the listing
   * is used up or older than `rescanIntervalMs`.
   *
   * @param fromPath The folder to take from.
   * @param toPath The folder it goes to.
   * @returns The moved file's id, or `undefined` when `fromPath` is empty.
   */
  async moveOldest(
    fromPath: string,
    toPath: string,
  ): Promise<string | undefined> {
    records.check(this, fromPath);
    records.check(this, toPath);
    let listing = this.#listings.get(fromPath);
    if (listing === undefined) {
      listing = {
        ids: [],
        head: 0,
        times: new Map(),
        listedAt: -Infinity,
        scanMs: 0,
        stale: true,
        refreshing: undefined,
      };
      this.#listings.set(fromPath, listing);
    }
    let relisted = false;
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
        continue;
      }
      // A folder that was listed during this call and is used up is empty.
      if (exhausted) return undefined;
      const id = listing.ids[listing.head++];
      listing.times.delete(id);
      if (await this.#rename(fromPath, toPath, id)) {
        const target = this.#listings.get(toPath);
        if (target !== undefined) target.stale = true;
        return id;
      }
    }
  }

  /**
   * Deletes a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @returns Nothing.
   */
  async delete(storagePath: string, id: string): Promise<void> {
    records.check(this, storagePath, id);
    try {
      Deno.removeSync(this.#file(storagePath, id));
    } catch (error) {
      throw translate(error, records.name(storagePath, id), "delete");
    }
    if (this.fsync) await syncFolder(this.#root + storagePath);
  }

  /**
   * Lists the ids in a folder, oldest first (by modification time, then id).
   * Files whose names are not `<id>.json` are left out.
   *
   * @param storagePath The folder.
   * @returns The ids; `[]` when the folder does not exist.
   */
  async list(storagePath: string): Promise<string[]> {
    records.check(this, storagePath);
    return (await this.#scan(storagePath, new Map())).fresh.map(([id]) => id);
  }

  #file(storagePath: string, id: string): string {
    // Path and id were checked, so plain joining is safe; node:path's join
    // costs about 0.3 µs, and a lifecycle joins some twenty paths.
    return `${this.#root}${storagePath}/${id}.json`;
  }

  /**
   * Reads a folder: which of the `known` ids are still there, and the other
   * files' ids with their times, oldest first.
   */
  async #scan(
    storagePath: string,
    known: ReadonlyMap<string, number>,
  ): Promise<{ present: string[]; fresh: [string, number][] }> {
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
      if (
        error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.NotADirectory
      ) {
        return { present: [], fresh: [] };
      }
      throw error;
    }
    const fresh: [string, number][] = [];
    // A synchronous lstat costs about 1 µs, one through the thread pool some
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
      } catch {
        // A file that went away since the listing is simply not there.
        continue;
      }
      fresh.push([id, info.mtime?.getTime() ?? 0]);
    }
    return { present, fresh: fresh.sort(byAge) };
  }

  /**
   * Lists a folder again. The rest of the last listing keeps its order and
   * its times; only new files are read and merged in, and files that went
   * away (to another process) are left out. No full sort, no rebuilt map.
   */
  #relist(storagePath: string, listing: Listing): Promise<void> {
    listing.refreshing ??= (async () => {
      try {
        const startedAt = performance.now();
        const times = listing.times;
        const { present, fresh } = await this.#scan(storagePath, times);
        // Taken or rewritten records have no time any more; they are left out.
        let rest = listing.ids.slice(listing.head).filter((id) =>
          times.has(id)
        );
        if (present.length < times.size) {
          const there = new Set(present);
          for (const id of times.keys()) {
            if (!there.has(id)) times.delete(id);
          }
          rest = rest.filter((id) => times.has(id));
        }
        for (const [id, time] of fresh) times.set(id, time);
        listing.ids = merge(rest, fresh, times);
        listing.head = 0;
        listing.listedAt = startedAt;
        listing.scanMs = performance.now() - startedAt;
        listing.stale = false;
      } finally {
        listing.refreshing = undefined;
      }
    })();
    return listing.refreshing;
  }

  /** Renames `from/id.json` to `to/id.json`; false when the source is missing. */
  async #rename(
    fromPath: string,
    toPath: string,
    id: string,
  ): Promise<boolean> {
    const source = this.#file(fromPath, id);
    const target = this.#file(toPath, id);
    for (let attempt = 0;; attempt++) {
      try {
        Deno.renameSync(source, target);
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound) || attempt > 0) {
          if (error instanceof Deno.errors.NotFound) return false;
          throw error;
        }
        // ENOENT: the source is gone, or the target's folder does not exist yet.
        if (!exists(source)) return false;
        await this.#ensureFolder(toPath, true);
      }
    }
    if (this.fsync) {
      await syncFolder(this.#root + toPath);
      await syncFolder(this.#root + fromPath);
    }
    return true;
  }

  /** Writes a file atomically: a temp file, then a link (create) or a rename (replace). */
  async #write(
    storagePath: string,
    id: string,
    text: string,
    create: boolean,
  ): Promise<void> {
    await this.#ensureFolder(TEMP, false);
    const temp = `${this.#root}${TEMP}/${id}.${crypto.randomUUID()}.tmp`;
    const target = this.#file(storagePath, id);
    const data = new TextEncoder().encode(text);
    let placed = false;
    try {
      await this.#writeTemp(temp, data);
      for (let attempt = 0;; attempt++) {
        try {
          if (create) Deno.linkSync(temp, target);
          else Deno.renameSync(temp, target);
          placed = true;
          break;
        } catch (error) {
          if (error instanceof Deno.errors.AlreadyExists) {
            throw new AlreadyExistsError(
              `Cannot create ${records.name(storagePath, id)}: it exists`,
            );
          }
          if (!(error instanceof Deno.errors.NotFound) || attempt > 0) {
            throw error;
          }
          await this.#ensureFolder(storagePath, true);
        }
      }
    } finally {
      // A rename consumed the temp file; a link leaves it behind.
      if (create || !placed) tryRemove(temp);
    }
    if (this.fsync) await syncFolder(this.#root + storagePath);
  }

  async #writeTemp(temp: string, data: Uint8Array): Promise<void> {
    if (!this.fsync && data.length <= SYNC_LIMIT) {
      try {
        Deno.writeFileSync(temp, data, { createNew: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        // Someone removed the temp folder; make it again.
        await this.#ensureFolder(TEMP, true);
        Deno.writeFileSync(temp, data, { createNew: true });
      }
      return;
    }
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < data.length) {
        written += await file.write(data.subarray(written));
      }
      if (this.fsync) await file.sync();
    } finally {
      file.close();
    }
  }

  async #ensureFolder(storagePath: string, force: boolean): Promise<void> {
    if (!force && this.#folders.has(storagePath)) return;
    await Deno.mkdir(this.#root + storagePath, { recursive: true });
    this.#folders.add(storagePath);
  }
}

/** Oldest first: by time, then by id. */
function byAge(a: [string, number], b: [string, number]): number {
  return a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/** Merges ids that are oldest first with new `[id, time]` pairs that are too. */
function merge(
  ids: string[],
  fresh: [string, number][],
  times: ReadonlyMap<string, number>,
): string[] {
  if (fresh.length === 0) return ids;
  const merged: string[] = new Array(ids.length + fresh.length);
  let i = 0, j = 0, k = 0;
  while (i < ids.length && j < fresh.length) {
    merged[k++] = byAge([ids[i], times.get(ids[i])!], fresh[j]) <= 0
      ? ids[i++]
      : fresh[j++][0];
  }
  while (i < ids.length) merged[k++] = ids[i++];
  while (j < fresh.length) merged[k++] = fresh[j++][0];
  return merged;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function tryRemove(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone; nothing to clean up.
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

/** Turns a filesystem error into this library's error for the record. */
function translate(error: unknown, record: string, action: string): unknown {
  if (
    error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotADirectory
  ) {
    return new NotFoundError(`Cannot ${action} ${record}: it does not exist`);
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return new CorruptRecordError(record, "it is a folder, not a file");
  }
  return error;
}
