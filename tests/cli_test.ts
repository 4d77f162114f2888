// The command line, run as a subprocess (as an operator runs it) against
// copies of the sqooler fixture store: every command, for success and for a
// user's mistake. A mistake prints one line `error: …` and no stack trace.

import assert from "node:assert/strict";
import { join } from "node:path";
import { Result, StatusMsg } from "@sqooler/storage";
import {
  copyTree,
  LOCAL_STORE,
  withStoreCopy,
  withTempDir,
} from "./support/folders.ts";
import {
  projectCommand,
  type ProjectCommandOptions,
  ROOT,
  type Run,
  runProject,
} from "./support/processes.ts";

const DONE = "a04ebc8cdf96468fad72ca94";
const FAILED = "93767870763f49919f487955";
const RUNNING = "5b4625859f0440c2af154efb";
const UNKNOWN = "0123456789abcdef01234567";

/** The CLI as a command, as an operator runs it. */
function cliCommand(
  args: string[],
  options?: ProjectCommandOptions,
): Deno.Command {
  return projectCommand("src/cli.ts", args, options);
}

function cli(args: string[], options?: ProjectCommandOptions): Promise<Run> {
  return runProject("src/cli.ts", args, options);
}

function assertOk(run: Run): void {
  assert.equal(run.code, 0, `exit ${run.code}; stderr: ${run.stderr}`);
  assert.equal(run.stderr, "");
}

function assertError(run: Run, code: number, message: RegExp): void {
  assert.equal(run.code, code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got: ${run.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], message);
  assert(!run.stderr.includes("    at "), "no stack trace");
  assert.equal(run.stdout, "");
}

/** A temp folder holding a copy of the fixture store in `store/`. */
function withStore(
  test: (root: string, base: string[]) => Promise<void>,
): Promise<void> {
  return withStoreCopy(
    LOCAL_STORE,
    (store, root) =>
      test(root, ["--base-path", store, "--provider", "fixture"]),
  );
}

const GOOD_JOB = {
  experiment_0: {
    instructions: [["load", [0], []], ["rlx", [0], [0.5]], [
      "measure",
      [0],
      [],
    ]],
    num_wires: 3,
    shots: 5,
    wire_order: "interleaved",
  },
};

Deno.test("cli --help describes the tool and every command", async () => {
  const commands = [
    "backends",
    "config",
    "status",
    "result",
    "submit",
    "queue",
    "recover",
    "work",
  ];
  const [tool, bare, ...each] = await Promise.all([
    cli(["--help"]),
    cli([]),
    ...commands.map((command) => cli([command, "--help"])),
  ]);
  assertOk(tool);
  assert.equal(bare.stdout, tool.stdout);
  for (const command of commands) {
    assert.match(tool.stdout, new RegExp(`  ${command}`));
  }
  assert.match(tool.stdout, /--base-path PATH/);
  each.forEach((run, i) => {
    assertOk(run);
    assert.match(
      run.stdout,
      new RegExp(`^Usage: deno task cli ${commands[i]}`),
    );
  });
  assert.match(each[4].stdout, /--user NAME/);
  assert.match(each[6].stdout, /--older-than DURATION/);
});

Deno.test("cli refuses unknown commands and options with exit code 2", async () => {
  const [command, option, value, missing, extra] = await Promise.all([
    cli(["frobnicate"]),
    cli(["backends", "--colour"]),
    cli(["backends", "--base-path"]),
    cli(["status", "fermions"]),
    cli(["queue", "fermions", "extra"]),
  ]);
  assertError(
    command,
    2,
    /Unknown command "frobnicate"; the commands are backends, config/,
  );
  assertError(option, 2, /Unknown option --colour/);
  assertError(value, 2, /Option --base-path needs a value/);
  assertError(missing, 2, /status needs <job>/);
  assertError(extra, 2, /queue takes 1 argument, got 2/);
});

Deno.test("cli backends lists the backends with their names and queues", async () => {
  await withStore(async (_root, base) => {
    const [text, json] = await Promise.all([
      cli(["backends", ...base]),
      cli(["backends", "--json", ...base]),
    ]);
    assertOk(text);
    assert.match(
      text.stdout,
      /^NAME +BACKEND NAME +VERSION +OPERATIONAL +QUEUED$/m,
    );
    assert.match(
      text.stdout,
      /^fermions +fixture_fermions_simulator +0\.1\.2 /m,
    );
    assert.match(
      text.stdout,
      /^spinchain +fixture_spinchain_hardware +1\.0\.0 +no \(never polled\) +0$/m,
    );
    assertOk(json);
    const rows = JSON.parse(json.stdout);
    assert.deepEqual(
      rows.map((
        row: Record<string, unknown>,
      ) => [row.display_name, row.queued]),
      [["fermions", 2], ["spinchain", 0]],
    );
  });
});

Deno.test("cli backends says which config is unreadable, and fails", async () => {
  await withStore(async (root, base) => {
    await Deno.writeTextFile(
      join(root, "store/backends/configs/broken.json"),
      '{"display_name": "broken"',
    );
    const run = await cli(["backends", ...base]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /^broken +unreadable: Cannot read backends\/configs\/broken\.json: not valid JSON$/m,
    );
    assert.match(run.stdout, /^fermions +fixture_fermions_simulator/m);
    assert.equal(
      run.stderr,
      "error: 1 backend config is unreadable; see above\n",
    );
  });
});

Deno.test("cli finds the storage folder from --base-path, SQOOLER_BASE_PATH or ./storage", async () => {
  await withStore(async (root) => {
    const store = join(root, "store");
    await copyTree(LOCAL_STORE, join(root, "storage"));
    const [env, cwd, missing] = await Promise.all([
      cli(["backends", "--json"], { env: { SQOOLER_BASE_PATH: store } }),
      cli(["backends", "--json"], { cwd: root }),
      cli(["backends", "--base-path", join(root, "nothere")]),
    ]);
    assertOk(env);
    assert.equal(JSON.parse(env.stdout).length, 2);
    assertOk(cwd);
    assert.equal(JSON.parse(cwd.stdout).length, 2);
    assertError(
      missing,
      1,
      /Storage folder ".*nothere" does not exist; pass --base-path or set SQOOLER_BASE_PATH/,
    );
  });
});

Deno.test("cli config shows a backend's config, and refuses unknown or invalid names", async () => {
  await withStore(async (_root, base) => {
    const [text, json, unknown, invalid] = await Promise.all([
      cli(["config", "fermions", ...base]),
      cli(["config", "fermions", "--json", ...base]),
      cli(["config", "nope", ...base]),
      cli(["config", "../backends", ...base]),
    ]);
    assertOk(text);
    assert.match(
      text.stdout,
      /^fermions \(fixture_fermions_simulator\), version 0\.1\.2$/m,
    );
    assert.match(
      text.stdout,
      /limits +50 experiments per job, 1000 shots per experiment/,
    );
    assertOk(json);
    const config = JSON.parse(json.stdout);
    assert.equal(config.num_wires, 3);
    assert.deepEqual(config.supported_instructions, [
      "rlx",
      "rlz",
      "load",
      "measure",
      "barrier",
    ]);
    assertError(
      unknown,
      1,
      /^error: Backend "nope" does not exist: it has no config$/,
    );
    assertError(invalid, 2, /Invalid display name "\.\.\/backends"/);
  });
});

Deno.test("cli status shows a job's status, owner and place", async () => {
  await withStore(async (_root, base) => {
    const [text, json, unknown, invalid] = await Promise.all([
      cli(["status", "fermions", DONE, ...base]),
      cli(["status", "fermions", FAILED, "--json", ...base]),
      cli(["status", "fermions", UNKNOWN, ...base]),
      cli(["status", "fermions", "../../etc/passwd", ...base]),
    ]);
    assertOk(text);
    assert.match(text.stdout, /status +DONE/);
    assert.match(text.stdout, /All done/);
    assert.match(
      text.stdout,
      new RegExp(`file +jobs/finished/fermions/${DONE}\\.json \\(finished\\)`),
    );
    assertOk(json);
    const status = StatusMsg.parse(JSON.parse(json.stdout));
    assert.equal(
      status.error_message,
      "Error in instructions: wire 7 does not exist",
    );
    assertError(
      unknown,
      1,
      new RegExp(
        `Job ${UNKNOWN} of backend fermions does not exist: it has no status`,
      ),
    );
    assertError(invalid, 2, /Invalid job id/);
  });
});

Deno.test("cli result shows counts of bit strings, or why there is no result", async () => {
  await withStore(async (_root, base) => {
    const [text, json, failed, running, unknown] = await Promise.all([
      cli(["result", "fermions", DONE, ...base]),
      cli(["result", "fermions", DONE, "--json", ...base]),
      cli(["result", "fermions", FAILED, ...base]),
      cli(["result", "fermions", RUNNING, ...base]),
      cli(["result", "nope", DONE, ...base]),
    ]);
    assertOk(text);
    assert.match(text.stdout, /on fixture_fermions_simulator 0\.1\.2: DONE/);
    assert.match(text.stdout, /experiment_0: 1 shot\n +1 0 1 +█+ +1/);
    assertOk(json);
    const result = Result.parse(JSON.parse(json.stdout));
    assert.equal(result.backend_name, "fixture_fermions_simulator");
    assert.deepEqual(result.results[0].data.memory, ["1 0 1"]);
    assertError(
      failed,
      1,
      /has no result: it failed: Error in instructions: wire 7 does not exist$/,
    );
    assertError(
      running,
      1,
      /has no result: its status is INITIALIZING; it has not run yet$/,
    );
    assertError(unknown, 1, /Backend "nope" does not exist/);
  });
});

Deno.test("cli submit submits a job file, and refuses missing, malformed or unfit ones", async () => {
  await withStore(async (root, base) => {
    const file = (name: string, text: string) => {
      const path = join(root, name);
      Deno.writeTextFileSync(path, text);
      return path;
    };
    const good = file("good.json", JSON.stringify(GOOD_JOB));
    const malformed = file("malformed.json", '{"experiment_0": {');
    const list = file("list.json", "[1, 2]");
    const unfit = file(
      "unfit.json",
      JSON.stringify({
        experiment_0: {
          ...GOOD_JOB.experiment_0,
          instructions: [["rlx", [7], [1]]],
        },
      }),
    );
    const submitted = await cli([
      "submit",
      "fermions",
      good,
      "--user",
      "alice",
      "--json",
      ...base,
    ]);
    assertOk(submitted);
    const { job_id: jobId, status } = JSON.parse(submitted.stdout);
    assert.match(jobId, /^[0-9a-f]{24}$/);
    assert.equal(status.status, "INITIALIZING");
    const [text, shown, missing, broken, array, wrong, forced, unknown] =
      await Promise.all([
        cli(["submit", "fermions", good, "--user", "bob", ...base]),
        cli(["status", "fermions", jobId, ...base]),
        cli(["submit", "fermions", join(root, "nothere.json"), ...base]),
        cli(["submit", "fermions", malformed, ...base]),
        cli(["submit", "fermions", list, ...base]),
        cli(["submit", "fermions", unfit, ...base]),
        cli(["submit", "fermions", unfit, "--no-validate", "--json", ...base]),
        cli(["submit", "nope", good, ...base]),
      ]);
    assertOk(text);
    assert.match(
      text.stdout,
      /^Submitted job [0-9a-f]{24} to fermions as bob: INITIALIZING\.$/m,
    );
    assertOk(shown);
    assert.match(shown.stdout, /owner +alice, submitted /);
    assert.match(shown.stdout, /\(queued\)/);
    assertError(
      missing,
      1,
      /Cannot read job file ".*nothere\.json": no such file$/,
    );
    assertError(broken, 1, /Job file ".*malformed\.json" is not valid JSON: /);
    assertError(array, 1, /must hold a JSON object with keys experiment_0/);
    assertError(
      wrong,
      1,
      /does not fit backend fermions: experiment_0: instruction 0 \("rlx"\) acts on wire 7, but the backend has wires 0 to 2$/,
    );
    assertOk(forced);
    assertError(unknown, 1, /Backend "nope" does not exist/);
    const queued = await Array.fromAsync(
      Deno.readDir(join(root, "store/jobs/queued/fermions")),
    );
    assert.equal(queued.length, 2 + 3);
  });
});

Deno.test("cli queue counts a backend's jobs, with the running ones' leases", async () => {
  await withStore(async (_root, base) => {
    const [text, json, unknown] = await Promise.all([
      cli(["queue", "fermions", ...base]),
      cli(["queue", "fermions", "--json", ...base]),
      cli(["queue", "nope", ...base]),
    ]);
    assertOk(text);
    assert.match(text.stdout, /queued +2/);
    assert.match(text.stdout, new RegExp(`${RUNNING} +no lease`));
    assertOk(json);
    const stats = JSON.parse(json.stdout);
    assert.deepEqual(
      [stats.queued, stats.running, stats.finished, stats.failed],
      [2, 1, 1, 1],
    );
    assertError(unknown, 1, /Backend "nope" does not exist/);
  });
});

Deno.test("cli recover lists unleased running jobs and requeues them only with --requeue-unleased, and checks its options", async () => {
  await withStore(async (_root, base) => {
    const report = await cli(["recover", "fermions", "--json", ...base]);
    assertOk(report);
    assert.deepEqual(JSON.parse(report.stdout).unleased, [RUNNING]);
    assert.deepEqual(JSON.parse(report.stdout).requeued, []);
    const [text, duration, attempts, unknown] = await Promise.all([
      cli(["recover", "fermions", "--older-than", "1h", ...base]),
      cli(["recover", "fermions", "--older-than", "5 minutes", ...base]),
      cli(["recover", "fermions", "--max-attempts", "0", ...base]),
      cli(["recover", "nope", ...base]),
    ]);
    assertOk(text);
    assert.match(
      text.stdout,
      /^Recovery of fermions: 0 requeued, 0 failed, 0 completed, 1 without a lease, 0 still alive$/m,
    );
    assertError(
      duration,
      2,
      /Option --older-than needs a duration such as 500ms, 90s, 10m or 2h, got "5 minutes"/,
    );
    assertError(attempts, 2, /Option --max-attempts needs a whole number ≥ 1/);
    assertError(unknown, 1, /Backend "nope" does not exist/);
    const requeue = await cli([
      "recover",
      "fermions",
      "--requeue-unleased",
      "--json",
      ...base,
    ]);
    assertOk(requeue);
    assert.deepEqual(JSON.parse(requeue.stdout).requeued, [RUNNING]);
  });
});

Deno.test("cli work runs a module's backends until the queues are empty", async () => {
  await withTempDir(async (root) => {
    const base = ["--base-path", join(root, "store")];
    const spins = join(ROOT, "demo", "spins.ts");
    // The first run uploads the config, which submit needs.
    const first = await cli(["work", spins, "--until-idle", ...base]);
    assertOk(first);
    assert.match(first.stdout, /Worker started on .* for spins/);
    const job = join(root, "job.json");
    await Deno.writeTextFile(
      job,
      JSON.stringify({
        experiment_0: {
          instructions: [["rx", [0], [Math.PI]], ["measure", [0], []]],
          num_wires: 1,
          shots: 3,
          wire_order: "linear",
        },
      }),
    );
    const submitted = await cli(["submit", "spins", job, "--json", ...base]);
    assertOk(submitted);
    const { job_id: jobId } = JSON.parse(submitted.stdout);
    const second = await cli([
      "work",
      spins,
      "--until-idle",
      "--json",
      ...base,
    ]);
    assertOk(second);
    const events = second.stdout.trim().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.deepEqual(
      events.map((event) => event.type),
      ["started", "claimed", "done", "idle", "stopped"],
    );
    assert.equal(events[2].jobId, jobId);
    const result = await cli(["result", "spins", jobId, "--json", ...base]);
    assert.deepEqual(JSON.parse(result.stdout).results[0].data.memory, [
      "1",
      "1",
      "1",
    ]);
    // Piped output has no terminal progress line.
    assert(!first.stdout.includes("\x1b["));
  });
});

Deno.test("cli work refuses a missing module, one without backends, and invalid backends", async () => {
  await withTempDir(async (root) => {
    const base = ["--base-path", join(root, "store")];
    const empty = join(root, "empty.ts");
    await Deno.writeTextFile(empty, "export const x = 1;\n");
    const invalid = join(root, "invalid.ts");
    await Deno.writeTextFile(
      invalid,
      'export default { spins: { config: { display_name: "spins" }, execute: () => [] } };\n',
    );
    const broken = join(root, "broken.ts");
    await Deno.writeTextFile(broken, "export default {{;\n");
    const [missing, none, wrong, syntax, lease] = await Promise.all([
      cli(["work", join(root, "nothere.ts"), ...base]),
      cli(["work", empty, ...base]),
      cli(["work", invalid, "--until-idle", ...base]),
      cli(["work", broken, ...base]),
      cli(["work", empty, "--lease", "forever", ...base]),
    ]);
    assertError(
      missing,
      1,
      /Cannot load backends from ".*nothere\.ts": no such file$/,
    );
    assertError(
      none,
      1,
      /exports no backends: expected a default export, or an export named "backends"/,
    );
    assertError(wrong, 1, /Invalid config of backend spins: /);
    assertError(syntax, 1, /Cannot load backends from ".*broken\.ts": /);
    assertError(lease, 2, /Option --lease needs a duration/);
  });
});

Deno.test("cli work stops cleanly on SIGTERM", async () => {
  await withTempDir(async (root) => {
    const child = cliCommand([
      "work",
      join(ROOT, "demo", "spins.ts"),
      "--base-path",
      join(root, "store"),
      "--json",
    ]).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let seen = "";
    const readUntil = async (stop: (text: string) => boolean) => {
      while (!stop(seen)) {
        const { value, done } = await reader.read();
        if (done) return;
        seen += value;
      }
    };
    // Wait until the worker says it is idle, then ask it to stop.
    await readUntil((text) => text.includes('"type":"idle"'));
    child.kill("SIGTERM");
    await readUntil(() => false);
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 0);
    assert.match(seen, /"type":"stopped"/);
  });
});
