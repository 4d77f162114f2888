/**
 * {@linkcode MemoryAdapter}: the {@linkcode StorageAdapter} contract over a
 * `Map`, for tests and for trying things out.
 *
 * @module
 */

import {
  andThen,
  type GetOptions,
  type JsonObject,
  type MoveOldestOptions,
  type RecordCheck,
  records,
  settle,
  type StorageAdapter,
  type UploadOptions,
} from "./adapter.ts";
import { AlreadyExistsError, NotFoundError } from "./errors.ts";
import { normalizeProviderName } from "./names.ts";

/** Options of {@linkcode MemoryAdapter}. */
export interface MemoryAdapterOptions {
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
}

interface Entry {
  /** The content as JSON text, so that nothing outside can change it. */
  json: string;
  /** When it was written; `move` keeps it, as a rename keeps a file's time. */
  seq: number;
  /** When it was written, in milliseconds since the epoch; `move` keeps it. */
  time: number;
}

/**
 * A {@linkcode StorageAdapter} that keeps everything in memory. It behaves
 * like {@linkcode LocalAdapter} (same errors, same order, copies in and out),
 * which makes it the fake to use in other projects' tests.
 *
 * @example Use it as a test fake
 * ```ts
 * import assert from "node:assert/strict";
 * import { getStatus, MemoryAdapter, uploadJob, uploadStatus } from "@sqooler/storage";
 *
 * const adapter = new MemoryAdapter({ name: "labtest" });
 * const job = { experiment_0: { instructions: [], num_wires: 1, shots: 1, wire_order: "sequential" } };
 * const jobId = await uploadJob(adapter, { job, displayName: "fermions", username: "alice" });
 * await uploadStatus(adapter, { displayName: "fermions", username: "alice", jobId });
 * const status = await getStatus(adapter, { displayName: "fermions", username: "alice", jobId });
 * assert(status.status === "INITIALIZING");
 * ```
 */
export class MemoryAdapter implements StorageAdapter {
  /** The storage provider's name. */
  readonly name: string;
  /** Whether the storage accepts operations. */
  readonly active: boolean;
  #folders = new Map<string, Map<string, Entry>>();
  #queues = new Map<string, MinHeap>();
  #seq = 0;

  /**
   * Creates an empty store.
   *
   * @param options Name and activity.
   * @throws {InvalidNameError} When the name is not acceptable.
   */
  constructor(options: MemoryAdapterOptions = {}) {
    this.name = normalizeProviderName(options?.name ?? "default");
    this.active = records.flag(options?.active ?? true, "active");
  }

  /**
   * Creates a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object; a copy is stored.
   * @param options With `overwrite: true`, an existing record is replaced.
   * @returns Nothing.
   */
  upload(
    storagePath: string,
    id: string,
    content: object,
    options?: UploadOptions,
  ): Promise<void> {
    return settle(() => {
      records.check(this, storagePath, id);
      const record = records.name(storagePath, id);
      const overwrite = records.flag(options?.overwrite ?? false, "overwrite");
      return andThen(
        records.serializeInSlices(content, record),
        (pieces) =>
          this.#create(storagePath, id, pieces.join(""), record, overwrite),
      );
    });
  }

  /** Creates (or, with `overwrite`, replaces) a record from its text, in one step. */
  #create(
    storagePath: string,
    id: string,
    json: string,
    record: string,
    overwrite: boolean,
  ) {
    const folder = this.#folder(storagePath, true);
    if (!overwrite && folder.has(id)) {
      throw new AlreadyExistsError(`Cannot create ${record}: it exists`);
    }
    this.#put(storagePath, folder, id, {
      json,
      seq: ++this.#seq,
      time: Date.now(),
    });
  }

  /**
   * Reads a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options Whether to keep numbers exactly.
   * @returns A copy of the content.
   */
  get(
    storagePath: string,
    id: string,
    options?: GetOptions,
  ): Promise<JsonObject> {
    return settle(() => {
      records.check(this, storagePath, id);
      const record = records.name(storagePath, id);
      const { json } = this.#entry(storagePath, id, "read");
      return records.parseInSlices(json, record, options);
    });
  }

  /**
   * Replaces an existing record's content.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param content A JSON object; a copy is stored.
   * @param options A precondition on the current content.
   * @returns Nothing.
   */
  update(
    storagePath: string,
    id: string,
    content: object,
    options?: RecordCheck,
  ): Promise<void> {
    return settle(() => {
      records.check(this, storagePath, id);
      const record = records.name(storagePath, id);
      return andThen(
        records.serializeInSlices(content, record),
        (pieces) =>
          this.#replace(storagePath, id, pieces.join(""), record, options),
      );
    });
  }

  /** Replaces a record's text after its check, in one step. */
  #replace(
    storagePath: string,
    id: string,
    json: string,
    record: string,
    options: RecordCheck | undefined,
  ) {
    const entry = this.#entry(storagePath, id, "update");
    if (options?.check) options.check(records.parse(entry.json, record));
    const folder = this.#folder(storagePath, true);
    this.#put(storagePath, folder, id, {
      json,
      seq: ++this.#seq,
      time: Date.now(),
    });
  }

  /**
   * When a record was last written, by the wall clock; a `move` keeps it.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @returns Milliseconds since the epoch, or `undefined` when there is no such record.
   */
  writtenAt(storagePath: string, id: string): Promise<number | undefined> {
    return settle(() => {
      records.check(this, storagePath, id);
      return this.#folders.get(storagePath)?.get(id)?.time;
    });
  }

  /**
   * Moves a record to another folder.
   *
   * @param fromPath The folder it is in.
   * @param toPath The folder it goes to.
   * @param id The record's id.
   * @returns Nothing.
   */
  move(fromPath: string, toPath: string, id: string): Promise<void> {
    return settle(() => {
      records.check(this, fromPath, id);
      records.check(this, toPath);
      this.#transfer(fromPath, toPath, this.#entry(fromPath, id, "move"), id);
    });
  }

  /**
   * Moves the oldest record of a folder to another folder.
   *
   * @param fromPath The folder to take from.
   * @param toPath The folder it goes to.
   * @param options What to do before each candidate is moved, and after it was lost.
   * @returns The moved record's id, or `undefined` when `fromPath` is empty.
   */
  async moveOldest(
    fromPath: string,
    toPath: string,
    options?: MoveOldestOptions,
  ): Promise<string | undefined> {
    records.check(this, fromPath);
    records.check(this, toPath);
    const skipped: { seq: number; id: string }[] = [];
    try {
      for (;;) {
        const folder = this.#folder(fromPath, false);
        if (folder === undefined || folder.size === 0) return undefined;
        let heap = this.#queues.get(fromPath);
        if (heap === undefined) {
          heap = new MinHeap();
          for (const [id, entry] of folder) heap.push(entry.seq, id);
          this.#queues.set(fromPath, heap);
        }
        const item = heap.pop();
        if (item === undefined) return undefined;
        // The heap keeps items of records that were since moved or rewritten.
        if (folder.get(item.id)?.seq !== item.seq) continue;
        if (options?.prepare) {
          let accepted: boolean;
          try {
            accepted = await options.prepare(item.id);
          } catch (error) {
            // The candidate keeps its place, as when prepare refuses it.
            skipped.push(item);
            throw error;
          }
          if (!accepted) {
            skipped.push(item);
            continue;
          }
        }
        // Another caller may have moved it while `prepare` ran.
        const entry = folder.get(item.id);
        if (entry?.seq !== item.seq) {
          await options?.rollback?.(item.id);
          continue;
        }
        this.#transfer(fromPath, toPath, entry, item.id);
        return item.id;
      }
    } finally {
      // Skipped candidates keep their place for the next caller.
      const heap = this.#queues.get(fromPath);
      for (const item of skipped) heap?.push(item.seq, item.id);
    }
  }

  /**
   * Deletes a record.
   *
   * @param storagePath The folder.
   * @param id The record's id.
   * @param options A precondition on the current content.
   * @returns Nothing.
   */
  delete(
    storagePath: string,
    id: string,
    options?: RecordCheck,
  ): Promise<void> {
    return settle(() => {
      records.check(this, storagePath, id);
      const entry = this.#entry(storagePath, id, "delete");
      if (options?.check) {
        options.check(
          records.parse(entry.json, records.name(storagePath, id)),
        );
      }
      this.#folder(storagePath, false)?.delete(id);
    });
  }

  /**
   * Lists the ids in a folder, oldest first.
   *
   * @param storagePath The folder.
   * @returns The ids; `[]` when the folder does not exist.
   */
  list(storagePath: string): Promise<string[]> {
    return settle(() => {
      records.check(this, storagePath);
      const folder = this.#folder(storagePath, false);
      if (folder === undefined) return [];
      return [...folder].sort((a, b) => a[1].seq - b[1].seq).map(([id]) => id);
    });
  }

  #folder(path: string, create: true): Map<string, Entry>;
  #folder(path: string, create: false): Map<string, Entry> | undefined;
  #folder(path: string, create: boolean): Map<string, Entry> | undefined {
    let folder = this.#folders.get(path);
    if (folder === undefined && create) {
      folder = new Map();
      this.#folders.set(path, folder);
    }
    return folder;
  }

  #entry(path: string, id: string, action: string): Entry {
    const entry = this.#folders.get(path)?.get(id);
    if (entry === undefined) {
      throw new NotFoundError(
        `Cannot ${action} ${records.name(path, id)}: it does not exist`,
      );
    }
    return entry;
  }

  #put(path: string, folder: Map<string, Entry>, id: string, entry: Entry) {
    folder.set(id, entry);
    this.#queues.get(path)?.push(entry.seq, id);
  }

  #transfer(fromPath: string, toPath: string, entry: Entry, id: string) {
    this.#folders.get(fromPath)?.delete(id);
    this.#put(toPath, this.#folder(toPath, true), id, entry);
  }
}

/** A binary min-heap of `(seq, id)`, for taking the oldest record in O(log n). */
class MinHeap {
  #seqs: number[] = [];
  #ids: string[] = [];

  push(seq: number, id: string): void {
    const seqs = this.#seqs, ids = this.#ids;
    let i = seqs.length;
    seqs.push(seq);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (seqs[parent] <= seq) break;
      seqs[i] = seqs[parent];
      ids[i] = ids[parent];
      i = parent;
    }
    seqs[i] = seq;
    ids[i] = id;
  }

  pop(): { seq: number; id: string } | undefined {
    const seqs = this.#seqs, ids = this.#ids;
    if (seqs.length === 0) return undefined;
    const top = { seq: seqs[0], id: ids[0] };
    const seq = seqs.pop()!, id = ids.pop()!;
    const n = seqs.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && seqs[child + 1] < seqs[child]) child++;
        if (seqs[child] >= seq) break;
        seqs[i] = seqs[child];
        ids[i] = ids[child];
        i = child;
      }
      seqs[i] = seq;
      ids[i] = id;
    }
    return top;
  }
}
