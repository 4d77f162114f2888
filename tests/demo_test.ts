// `deno task demo`, run as a subprocess: in memory and on a folder, it exits 0
// and shows each job's way to DONE or ERROR; the folder it leaves is one that
// the CLI can read. The simulator's physics is checked on its own.

import assert from "node:assert/strict";
import { simulate } from "../demo/spins.ts";
import { withTempDir } from "./support/folders.ts";
import { runProject } from "./support/processes.ts";

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
  const { code, stdout, stderr } = await runProject("demo/main.ts", [
    "--memory",
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  assertDemoOutput(stdout);
  assert.match(stdout, /nothing is left behind/);
});

Deno.test("demo on a folder leaves a storage that the CLI can inspect", async () => {
  await withTempDir(async (basePath) => {
    const demo = await runProject("demo/main.ts", ["--base-path", basePath]);
    assert.equal(demo.code, 0, demo.stderr);
    assertDemoOutput(demo.stdout);
    // `deno task cli …`, or `npx -y deno@… task cli …` where Deno came from npm.
    assert.match(demo.stdout, /task cli queue spins --base-path /);
    const queue = await runProject("src/cli/main.ts", [
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
  });
});

Deno.test("demo refuses an unknown option with one line and exit code 2", async () => {
  const { code, stdout, stderr } = await runProject("demo/main.ts", [
    "--bogus",
  ]);
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
