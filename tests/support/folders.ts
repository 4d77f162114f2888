// Temp folders, copies of the sqooler fixture stores and file listings, for
// the tests that work on real folders.

import { cp } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The fixtures folder, a copy of ../shared/fixtures. Read-only: tests work on copies. */
export const FIXTURES: string = fileURLToPath(
  new URL("../fixtures/", import.meta.url),
);

/** The store that sqooler's `LocalProviderExtended` wrote (provider "fixture"). */
export const LOCAL_STORE: string = join(FIXTURES, "sqooler-local", "store");

/** The store in sqooler v0.9's signed format. */
export const SIGNED_STORE: string = join(FIXTURES, "sqooler-signed", "store");

/** Runs `work` with a fresh temp folder, removed afterwards. */
export async function withTempDir<T>(
  work: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "sqooler_test_" });
  try {
    return await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Copies a folder tree, such as a fixture store, to `to`. */
export async function copyTree(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
}

/**
 * Runs `work` on a copy of a fixture store at `<temp folder>/store`, removed
 * afterwards: `basePath` is the copy, `root` the temp folder around it.
 */
export function withStoreCopy<T>(
  store: string,
  work: (basePath: string, root: string) => Promise<T>,
): Promise<T> {
  return withTempDir(async (root) => {
    const basePath = join(root, "store");
    await copyTree(store, basePath);
    return await work(basePath, root);
  });
}

/** An entry of a folder tree, with its full path. */
export interface TreeEntry {
  path: string;
  name: string;
  isDirectory: boolean;
}

/** Every file and folder below `root`, each folder before what it holds. */
export async function* walkTree(root: string): AsyncGenerator<TreeEntry> {
  for await (const entry of Deno.readDir(root)) {
    const path = join(root, entry.name);
    yield { path, name: entry.name, isDirectory: entry.isDirectory };
    if (entry.isDirectory) yield* walkTree(path);
  }
}

/** Every file below a folder, as sorted paths relative to it. */
export async function filesBelow(folder: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of walkTree(folder)) {
    if (!entry.isDirectory) found.push(relative(folder, entry.path));
  }
  return found.sort();
}
