// `deno task demo`, run as a subprocess: in memory and on a folder, it exits 0
// and shows each job's way to DONE or ERROR; the folder it leaves is one that
// the CLI can read. The simulator's physics is checked on its own.

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { simulate } from "../demo/spins.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function run(script: string, args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      join(ROOT, "deno.json"),
      "--allow-read",
      "--allow-write",
      "--allow-env",
      join(ROOT, script),
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", SQOOLER_BASE_PATH: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function assertDemoOutput(stdout: string): void {
  assert.match(stdout, /Worker started/);
  assert.equal(stdout.match(/^ +DONE +All done$/gm)?.length, 4);
  assert.match(stdout, /^ +INITIALIZING +Got your json\.$/m);
  assert.match(
    stdout,
    /^ +ERROR +Failed json sanity check\. File will be deleted\.$/m,
  );
  assert.match(
    stdout,
    /experiment_0: instruction 0 \("rx"\) acts on wire 7, but the backend has wires 0 to 2/,
  );
  // A π pulse on spin 0 gives "1 0 0" in every shot.
  assert.match(stdout, /^ +1 0 0 +█+ 50$/m);
  assert.match(
    stdout,
    /Worker stopped: 4 done, 1 failed, 0 released, 0 storage errors\./,
  );
}

Deno.test("demo --memory runs every job to DONE or ERROR and exits 0", async () => {
  const { code, stdout, stderr } = await run("demo/main.ts", ["--memory"]);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  assertDemoOutput(stdout);
  assert.match(stdout, /nothing is left behind/);
});

Deno.test("demo on a folder leaves a storage that the CLI can inspect", async () => {
  const basePath = await Deno.makeTempDir({ prefix: "demo_test_" });
  try {
    const demo = await run("demo/main.ts", ["--base-path", basePath]);
    assert.equal(demo.code, 0, demo.stderr);
    assertDemoOutput(demo.stdout);
    assert.match(demo.stdout, /deno task cli queue spins --base-path /);
    const queue = await run("src/cli.ts", [
      "queue",
      "spins",
      "--json",
      "--base-path",
      basePath,
    ]);
    assert.equal(queue.code, 0, queue.stderr);
    const stats = JSON.parse(queue.stdout);
    assert.deepEqual(
      [stats.queued, stats.running, stats.finished, stats.failed],
      [0, 0, 4, 1],
    );
  } finally {
    await Deno.remove(basePath, { recursive: true });
  }
});

Deno.test("demo refuses an unknown option with one line and exit code 2", async () => {
  const { code, stdout, stderr } = await run("demo/main.ts", ["--bogus"]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /^error: Unknown option '--bogus'\n$/);
});

const shots = 4000;
function ones(instructions: [string, number[], number[]][], wire = 0): number {
  const memory = simulate(
    { instructions, num_wires: 3, shots, wire_order: "linear" },
    { name: "experiment_0", seed: 7 },
  );
  return memory.filter((bits) => bits.split(" ")[wire] === "1").length / shots;
}

Deno.test("simulate() gives sin²(θ/2) for one spin rotated by rx(θ)", () => {
  for (const theta of [0, Math.PI / 3, Math.PI / 2, Math.PI]) {
    const p = ones([["rx", [0], [theta]], ["measure", [0], []]]);
    const expected = Math.sin(theta / 2) ** 2;
    // Five standard deviations of a binomial with 4,000 shots.
    assert(Math.abs(p - expected) <= 5 * Math.sqrt(0.25 / shots) + 1e-9);
  }
});

Deno.test("simulate() correlates two spins through rzz, and is reproducible by seed", () => {
  const instructions: [string, number[], number[]][] = [
    ["rx", [0], [Math.PI / 2]],
    ["rx", [1], [Math.PI / 2]],
    ["rzz", [0, 1], [Math.PI / 2]],
    ["rx", [0], [Math.PI / 2]],
    ["rx", [1], [Math.PI / 2]],
    ["measure", [0], []],
    ["measure", [1], []],
  ];
  const experiment = {
    instructions,
    num_wires: 2,
    shots: 500,
    wire_order: "linear",
  };
  const memory = simulate(experiment, { name: "e", seed: 3 });
  assert(memory.every((bits) => bits === "0 0" || bits === "1 1"));
  assert(memory.includes("0 0") && memory.includes("1 1"));
  assert.deepEqual(simulate(experiment, { name: "e", seed: 3 }), memory);
});

Deno.test("simulate() refuses a gate on a spin that was already measured", () => {
  assert.throws(
    () =>
      simulate({
        instructions: [["measure", [0], []], ["rx", [0], [1]]],
        num_wires: 1,
        shots: 1,
        wire_order: "linear",
      }, { name: "experiment_0", seed: 1 }),
    {
      message:
        'experiment_0: instruction 1 ("rx") acts on spin 0 after it was measured',
    },
  );
});
