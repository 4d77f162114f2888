// Which python3 the tests that play sqooler's Python side run. `npx` puts the
// folder of its own node first on PATH (often /usr/bin), so the first
// python3 on PATH need not be the one that has sqooler's libraries: every
// python3 on PATH is tried, in PATH's order.

/**
 * The first python3 on PATH that can import every one of `modules`, or
 * `undefined` when there is none.
 */
function findPython(modules: string[]): string | undefined {
  const seen = new Set<string>();
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    const path = `${dir}/python3`;
    let real: string;
    try {
      real = Deno.realPathSync(path);
    } catch {
      continue;
    }
    // pyenv's shims resolve to one script for every Python: tried as they are.
    if (seen.has(real) && !real.includes("shims")) continue;
    seen.add(real);
    try {
      const imports = modules.length > 0 ? `import ${modules.join(", ")}` : "";
      const { success } = new Deno.Command(path, {
        args: ["-c", imports],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (success) return path;
    } catch {
      // Not runnable: the next one.
    }
  }
  return undefined;
}

/** A python3 with pydantic and cryptography (sqooler's own libraries). */
export const SQOOLER_PYTHON: string | undefined = findPython([
  "cryptography",
  "pydantic",
]);
