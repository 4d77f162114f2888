// The command line, run as a subprocess with the permissions of its `deno
// task` (as an operator runs it), against copies of the sqooler fixture store
// and against fresh storages: every command, for success, for `--json` (one
// key style: snake_case) and for each mistake a user can make, which prints
// exactly one line `error: …` (exit code 2 for a mistake in the command line,
// 1 for a failure) and no stack trace. Nothing here sleeps: tests that follow
// a running command wait for the line it prints, then act.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  getNextJobInQueue,
  type JobStatus,
  LocalAdapter,
  Result,
  StatusMsg,
  updateInDatabase,
  uploadConfig,
  uploadJob,
  uploadStatus,
} from "@sqooler/storage";
import { testBackendConfig } from "@sqooler/storage/testing";
import { denoCommand } from "../src/cli/invocation.ts";
import { decodePrivateJwkEnv, publicFromPrivate } from "../src/signing.ts";
import {
  assertError,
  assertOk,
  assertSnakeKeys,
  cli,
  type CliOptions,
  spawnCli,
} from "./support/cli.ts";
import {
  copyTree,
  LOCAL_STORE,
  withStoreCopy,
  withTempDir,
} from "./support/folders.ts";
import { ROOT } from "./support/processes.ts";
import { doneResult, experimentOf } from "./support/fixtures.ts";

const DONE = "a04ebc8cdf96468fad72ca94";
const FAILED = "93767870763f49919f487955";
const RUNNING = "5b4625859f0440c2af154efb";
const QUEUED = ["03da11d0eb784d9da378e393", "ce3ae930895f449583162da3"];
const UNKNOWN = "0123456789abcdef01234567";

const { name: PACKAGE, version: VERSION } = JSON.parse(
  await Deno.readTextFile(join(ROOT, "deno.json")),
);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const COMMANDS = [
  "backends",
  "config",
  "submit",
  "status",
  "result",
  "verify",
  "jobs",
  "queue",
  "cancel",
  "retry",
  "purge",
  "recover",
  "work",
  "keygen",
];

/** A temp folder holding a copy of the fixture store (provider "fixture") in `store/`. */
function withStore(
  test: (store: string, base: string[], root: string) => Promise<void>,
): Promise<void> {
  return withStoreCopy(
    LOCAL_STORE,
    (store, root) =>
      test(store, ["--base-path", store, "--provider", "fixture"], root),
  );
}

/** A fresh storage with the backend "spins" (3 wires), in `<root>/store`. */
interface Lab {
  root: string;
  store: string;
  adapter: LocalAdapter;
  base: string[];
}

function withLab(test: (lab: Lab) => Promise<void>): Promise<void> {
  return withTempDir(async (root) => {
    const store = join(root, "store");
    const adapter = new LocalAdapter({ basePath: store });
    await uploadConfig(adapter, testBackendConfig("spins"));
    await test({ root, store, adapter, base: ["--base-path", store] });
  });
}

const JOB = {
  experiment_0: {
    instructions: [["rx", [0], [Math.PI]], ["measure", [0], []]],
    num_wires: 3,
    shots: 3,
    wire_order: "sequential",
  },
};

/** Submits a job as the web API does: the job, then its status. */
async function submit(adapter: LocalAdapter, username = "alice") {
  const ref = { displayName: "spins", username, jobId: "" };
  ref.jobId = await uploadJob(adapter, { job: JOB, ...ref });
  await uploadStatus(adapter, ref);
  return ref.jobId;
}

/** Takes the next job of "spins" as a worker does. */
async function claim(
  adapter: LocalAdapter,
  jobId: string,
  options: { leaseMs?: number; now?: () => number } = {},
) {
  const next = await getNextJobInQueue(adapter, "spins", options);
  assert.equal(next.job_id, jobId);
  return next.token;
}

/** Records a job's outcome as a worker does. */
async function finish(
  adapter: LocalAdapter,
  jobId: string,
  token: string | undefined,
  status: JobStatus,
) {
  await updateInDatabase(adapter, {
    jobId,
    displayName: "spins",
    token,
    status: {
      job_id: jobId,
      status,
      detail: `Got your json.; ${status === "DONE" ? "All done" : "Failed"}`,
      error_message: status === "DONE" ? "None" : "The laser is off",
    },
    result: status === "DONE"
      ? doneResult("spins", jobId, [experimentOf(3, "1")])
      : null,
  });
}

/** This process's environment without INIT_CWD and the storage's variables. */
function withoutStorageVariables(): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of ["INIT_CWD", "SQOOLER_BASE_PATH", "DATABASE_URL"]) {
    delete env[name];
  }
  return { ...env, NO_COLOR: "1" };
}

/** Sets a file's time, as if it was written `ageMs` ago. */
async function age(path: string, ageMs: number) {
  const time = new Date(Date.now() - ageMs);
  await Deno.utime(path, time, time);
}

function json(text: string): unknown {
  const value = JSON.parse(text);
  assertSnakeKeys(value);
  return value;
}

// --- the tool ----------------------------------------------------------------

Deno.test("cli --help lists every command and the global options; each command has its help", async () => {
  const [tool, bare, topic, ...each] = await Promise.all([
    cli(["--help"]),
    cli([]),
    cli(["help", "purge"]),
    ...COMMANDS.map((command) => cli([command, "-h"])),
  ]);
  assertOk(tool);
  assert.equal(bare.stdout, tool.stdout);
  for (const command of COMMANDS) {
    assert.match(tool.stdout, new RegExp(`^  ${command}\\b`, "m"));
  }
  for (const option of ["--base-path PATH", "--database-url URL", "--json"]) {
    assert(tool.stdout.includes(option), option);
  }
  each.forEach((run, i) => {
    assertOk(run);
    assert.match(
      run.stdout,
      new RegExp(`^Usage: deno task cli ${COMMANDS[i]}`),
    );
  });
  assertOk(topic);
  assert.equal(topic.stdout, each[COMMANDS.indexOf("purge")].stdout);
  const help = (command: string) => each[COMMANDS.indexOf(command)].stdout;
  assert.match(help("submit"), /--user NAME/);
  assert.match(help("purge"), /--older-than DURATION/);
  assert.match(help("purge"), /--dry-run/);
  assert.match(help("jobs"), /--state STATE/);
  assert.match(help("status"), /--watch/);
  assert.match(help("cancel"), /--by NAME/);
  assert.match(help("recover"), /--requeue-unleased/);
});

Deno.test("cli --version prints the version of deno.json", async () => {
  const [text, asJson, after] = await Promise.all([
    cli(["--version"]),
    cli(["--version", "--json"]),
    cli(["queue", "--version"]),
  ]);
  assertOk(text);
  assert.equal(text.stdout, `${PACKAGE} ${VERSION}\n`);
  assertOk(asJson);
  assert.deepEqual(json(asJson.stdout), {
    name: PACKAGE,
    version: VERSION,
    deno: Deno.version.deno,
  });
  assertOk(after);
  assert.equal(after.stdout, text.stdout);
});

Deno.test("cli refuses mistakes in the command line with one line and exit code 2", async () => {
  const cases: [string[], string, CliOptions?][] = [
    [
      ["frobnicate"],
      'Unknown command "frobnicate"; the commands are backends, config, submit, status, result, verify, jobs, queue, cancel, retry, purge, recover, work, keygen (see deno task cli --help)',
    ],
    [
      ["backends", "--colour"],
      "Unknown option --colour (see deno task cli backends --help)",
    ],
    [
      ["queue", "spins", "-x"],
      "Unknown option -x (see deno task cli queue --help)",
    ],
    [
      ["backends", "--base-path"],
      "Option --base-path needs a value: --base-path PATH",
    ],
    [
      ["backends", "--base-path", "--json"],
      "Option --base-path needs a value: --base-path PATH",
    ],
    [["backends", "--json=yes"], 'Option --json takes no value, got "yes"'],
    [
      ["backends", "--base-path", "a", "--base-path=b"],
      "Option --base-path is given twice; give it once",
    ],
    [
      ["status", "fermions"],
      "status needs <job> (usage: status <display> <job>)",
    ],
    [
      ["cancel"],
      "cancel needs <display> <job> (usage: cancel <display> <job>)",
    ],
    [
      ["backends", "--json", "extra"],
      'backends takes no arguments, got "extra" (usage: backends)',
    ],
    [
      ["queue", "fermions", "extra", "more"],
      'queue takes 1 argument, got "extra" "more" (usage: queue <display>)',
    ],
    [
      ["queue", "Spins!"],
      'Invalid display name "Spins!": use 1 to 64 lowercase letters and digits',
    ],
    [
      ["status", "fermions", "../../etc/passwd"],
      "Invalid job id \"../../etc/passwd\": use 1 to 64 ASCII letters, digits, '_' or '-'",
    ],
    [["help", "a", "b"], "help takes at most one command, got 2"],
    [
      ["help", "nope"],
      'Unknown command "nope"; the commands are backends, config, submit, status, result, verify, jobs, queue, cancel, retry, purge, recover, work, keygen (see deno task cli --help)',
    ],
    [
      ["backends", "--provider", "lab one"],
      'Option --provider: Invalid provider name "lab one": use 1 to 64 letters and digits',
    ],
    [
      [
        "backends",
        "--base-path",
        "a",
        "--database-url",
        "postgres://lab@db/sqooler",
      ],
      "Options --base-path and --database-url exclude each other: the storage is a folder or a database",
    ],
    [
      ["backends", "--database-schema", "lab"],
      "Option --database-schema needs a PostgreSQL storage: pass --database-url or set DATABASE_URL",
    ],
    [
      ["backends"],
      "DATABASE_URL and SQOOLER_BASE_PATH are both set: choose the storage with --database-url or --base-path",
      {
        env: {
          DATABASE_URL: "postgres://lab@db/sqooler",
          SQOOLER_BASE_PATH: "lab",
        },
      },
    ],
    [
      ["backends", "--database-url", "http://db.example.org"],
      '--database-url: Invalid PostgreSQL URL "http://db.example.org": expected postgres://user:password@host:port/database',
    ],
  ];
  const runs = await Promise.all(
    cases.map(([args, , options]) => cli(args, options)),
  );
  runs.forEach((run, i) => assertError(run, 2, cases[i][1]));
});

Deno.test("cli finds the storage from --base-path, SQOOLER_BASE_PATH or ./storage, relative to the user's folder (INIT_CWD)", async () => {
  await withStore(async (store, _base, root) => {
    await copyTree(LOCAL_STORE, join(root, "storage"));
    const file = join(root, "file");
    await Deno.writeTextFile(file, "");
    const [flag, env, cwd, initCwd, relative, missing, notFolder] =
      await Promise.all([
        cli(["backends", "--json", "--base-path", store]),
        cli(["backends", "--json"], { env: { SQOOLER_BASE_PATH: store } }),
        cli(["backends", "--json"], { cwd: root }),
        // As `deno task cli` runs: in the project's folder, INIT_CWD the user's.
        cli(["backends", "--json"], { env: { INIT_CWD: root } }),
        cli(["backends", "--json", "--base-path", "store"], {
          env: { INIT_CWD: root },
        }),
        cli(["backends", "--base-path", "nothere"], {
          env: { INIT_CWD: root },
        }),
        cli(["backends", "--base-path", file]),
      ]);
    for (const run of [flag, env, cwd, initCwd, relative]) {
      assertOk(run);
      assert.equal((json(run.stdout) as unknown[]).length, 2);
    }
    assertError(
      missing,
      1,
      `Storage folder ${
        JSON.stringify(join(root, "nothere"))
      } does not exist; pass --base-path or set SQOOLER_BASE_PATH`,
    );
    assertError(
      notFolder,
      1,
      `Storage folder ${JSON.stringify(file)} is a file, not a folder`,
    );
  });
});

Deno.test("deno task cli resolves relative paths against the folder it was typed in", async () => {
  await withStore(async (_store, _base, root) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "--quiet",
        "--config",
        join(ROOT, "deno.json"),
        "cli",
        "jobs",
        "fermions",
        "--base-path",
        "store",
        "--json",
      ],
      cwd: root,
      // As in the user's shell: deno task sets INIT_CWD only when it is unset.
      clearEnv: true,
      env: withoutStorageVariables(),
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const jobs = json(new TextDecoder().decode(output.stdout)) as unknown[];
    assert.equal(jobs.length, 5);
  });
});

Deno.test("the command that runs Deno for hints is npx's only when Deno came through npx alone", () => {
  const npx = "/home/al/.npm/_npx/1a2b/node_modules";
  const surroundings = (isFile: (path: string) => boolean, env = {}) => ({
    execPath: `${npx}/deno/deno`,
    version: "2.9.6",
    os: "linux",
    env: (name: string) =>
      ({
        PATH: `${npx}/.bin:/home/al/project/node_modules/.bin:/usr/bin`,
        npm_execpath: "/usr/lib/node_modules/npm/bin/npm-cli.js",
        ...env,
      } as Record<string, string>)[name],
    isFile,
  });
  const npxBin = (path: string) => path.startsWith(npx);
  assert.equal(denoCommand(surroundings(npxBin)), "npx -y deno@2.9.6");
  assert.equal(
    denoCommand(surroundings((path) => path === "/usr/bin/deno")),
    "deno",
  );
  assert.equal(
    denoCommand({
      ...surroundings(() => false),
      execPath: "/opt/deno/deno",
      env: (name) => name === "PATH" ? "/usr/bin" : undefined,
    }),
    "deno",
  );
});

// --- backends, config ---------------------------------------------------------

Deno.test("cli backends lists the backends with their names and queues", async () => {
  await withStore(async (_store, base, root) => {
    await Deno.mkdir(join(root, "empty"));
    const [text, asJson, empty] = await Promise.all([
      cli(["backends", ...base]),
      cli(["backends", "--json", ...base]),
      cli(["backends", "--base-path", join(root, "empty")]),
    ]);
    assertOk(text);
    assert.match(
      text.stdout,
      /^NAME +BACKEND NAME +VERSION +OPERATIONAL +QUEUED$/m,
    );
    assert.match(
      text.stdout,
      /^fermions +fixture_fermions_simulator +0\.1\.2 +no \(last polled .* ago\) +2$/m,
    );
    assert.match(
      text.stdout,
      /^spinchain +fixture_spinchain_hardware +1\.0\.0 +no \(never polled\) +0$/m,
    );
    assertOk(asJson);
    const rows = json(asJson.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((row) => [row.display_name, row.queued, row.operational]),
      [["fermions", 2, false], ["spinchain", 0, false]],
    );
    assertOk(empty);
    assert.equal(empty.stdout, `No backends in ${join(root, "empty")}.\n`);
  });
});

Deno.test("cli backends says which config is unreadable, and fails", async () => {
  await withStore(async (store, base) => {
    await Deno.writeTextFile(
      join(store, "backends/configs/broken.json"),
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

Deno.test("cli config shows a backend's config, and refuses unknown backends", async () => {
  await withStore(async (_store, base) => {
    const [text, asJson, unknown] = await Promise.all([
      cli(["config", "fermions", ...base]),
      cli(["config", "fermions", "--json", ...base]),
      cli(["config", "nope", ...base]),
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
    assertOk(asJson);
    const config = json(asJson.stdout) as Record<string, unknown>;
    assert.equal(config.num_wires, 3);
    assert.equal(config.last_queue_check, "2026-11-28T04:27:46.819278Z");
    assertError(unknown, 1, 'Backend "nope" does not exist: it has no config');
  });
});

// --- status, result -------------------------------------------------------------

Deno.test("cli status shows a job's status, owner, place and lease", async () => {
  await withStore(async (_store, base) => {
    const [text, running, asJson, unknown, noBackend] = await Promise.all([
      cli(["status", "fermions", DONE, ...base]),
      cli(["status", "fermions", RUNNING, ...base]),
      cli(["status", "fermions", FAILED, "--json", ...base]),
      cli(["status", "fermions", UNKNOWN, ...base]),
      cli(["status", "nope", DONE, ...base]),
    ]);
    assertOk(text);
    assert.match(text.stdout, /status +DONE/);
    assert.match(text.stdout, /All done/);
    assert.match(
      text.stdout,
      new RegExp(`file +jobs/finished/fermions/${DONE}\\.json \\(finished\\)`),
    );
    assertOk(running);
    assert.match(running.stdout, /lease +no lease \(taken by another tool\)/);
    assertOk(asJson);
    const status = StatusMsg.parse(json(asJson.stdout));
    assert.equal(
      status.error_message,
      "Error in instructions: wire 7 does not exist",
    );
    assertError(
      unknown,
      1,
      `Job ${UNKNOWN} of backend fermions does not exist: it has no status`,
    );
    assertError(
      noBackend,
      1,
      'Backend "nope" does not exist: it has no config',
    );
  });
});

Deno.test("cli status --watch prints each change until the job is DONE", async () => {
  await withLab(async ({ adapter, base }) => {
    const jobId = await submit(adapter);
    const args = ["status", "spins", jobId, "--watch", "--interval", "100ms"];
    const text = spawnCli([...args, ...base]);
    const asJson = spawnCli([...args, "--json", ...base]);
    // Both watchers saw the job waiting; now a worker runs it.
    assert.match(
      (await text.until(/INITIALIZING/))[0],
      /^\d\d:\d\d:\d\d {2}INITIALIZING {2}Got your json\.$/,
    );
    await asJson.until(/INITIALIZING/);
    const token = await claim(adapter, jobId);
    await finish(adapter, jobId, token, "DONE");
    const [textRun, jsonRun] = await Promise.all([
      text.finish(),
      asJson.finish(),
    ]);
    assertOk(textRun);
    assert.match(textRun.stdout, /^\d\d:\d\d:\d\d {2}DONE +All done$/);
    assertOk(jsonRun);
    const statuses = jsonRun.stdout.split("\n").map((line) =>
      StatusMsg.parse(json(line))
    );
    assert.equal(statuses.at(-1)?.status, "DONE");
  });
});

Deno.test("cli status --watch ends on ERROR too, and refuses what it cannot watch", async () => {
  await withLab(async ({ adapter, base }) => {
    const jobId = await submit(adapter);
    const watcher = spawnCli(["status", "spins", jobId, "--watch", ...base]);
    await watcher.until(/INITIALIZING/);
    await finish(adapter, jobId, await claim(adapter, jobId), "ERROR");
    const run = await watcher.finish();
    assertOk(run);
    assert.match(run.stdout, /ERROR +Failed \(The laser is off\)$/);
    const [unknown, noWatch, tooFast] = await Promise.all([
      cli(["status", "spins", UNKNOWN, "--watch", ...base]),
      cli(["status", "spins", jobId, "--interval", "1s", ...base]),
      cli(["status", "spins", jobId, "--watch", "--interval", "10ms", ...base]),
    ]);
    assertError(
      unknown,
      1,
      `Job ${UNKNOWN} of backend spins does not exist: it has no status`,
    );
    assertError(noWatch, 2, "Option --interval works only with --watch");
    assertError(
      tooFast,
      2,
      'Option --interval needs a duration of at least 100ms, got "10ms"',
    );
  });
});

Deno.test("cli result shows counts of bit strings, or why there is no result", async () => {
  await withStore(async (_store, base) => {
    const [text, asJson, failed, running, unknown] = await Promise.all([
      cli(["result", "fermions", DONE, ...base]),
      cli(["result", "fermions", DONE, "--json", ...base]),
      cli(["result", "fermions", FAILED, ...base]),
      cli(["result", "fermions", RUNNING, ...base]),
      cli(["result", "fermions", UNKNOWN, ...base]),
    ]);
    assertOk(text);
    assert.match(text.stdout, /on fixture_fermions_simulator 0\.1\.2: DONE/);
    assert.match(text.stdout, /experiment_0: 1 shot\n +1 0 1 +█+ +1/);
    assertOk(asJson);
    // The result as stored: sqooler's keys, and the user's in its headers.
    const result = Result.parse(JSON.parse(asJson.stdout));
    assert.equal(result.backend_name, "fixture_fermions_simulator");
    assert.deepEqual(result.results[0].data.memory, ["1 0 1"]);
    assertError(
      failed,
      1,
      `Job ${FAILED} of backend fermions has no result: it failed: Error in instructions: wire 7 does not exist`,
    );
    assertError(
      running,
      1,
      `Job ${RUNNING} of backend fermions has no result: its status is INITIALIZING; it has not run yet`,
    );
    assertError(
      unknown,
      1,
      `Job ${UNKNOWN} of backend fermions does not exist: it has no status`,
    );
  });
});

// --- submit ----------------------------------------------------------------------

Deno.test("cli submit submits a job from a file or from standard input", async () => {
  await withLab(async ({ root, store, base }) => {
    await Deno.writeTextFile(join(root, "job.json"), JSON.stringify(JOB));
    const [file, stdin, relative] = await Promise.all([
      cli([
        "submit",
        "spins",
        join(root, "job.json"),
        "--user",
        "alice",
        ...base,
      ]),
      cli(["submit", "spins", "-", "--user", "bob", "--json", ...base], {
        input: JSON.stringify(JOB),
      }),
      // As `deno task cli` from the user's folder: both paths relative to it.
      cli(["submit", "spins", "job.json", "--base-path", "store"], {
        env: { INIT_CWD: root, USER: "carol" },
      }),
    ]);
    assertOk(file);
    const [line, hint] = file.stdout.trimEnd().split("\n");
    const jobId =
      /^Submitted job ([0-9a-f]{24}) to spins as alice: INITIALIZING\.$/
        .exec(line)?.[1];
    assert(jobId, file.stdout);
    assert.equal(
      hint,
      `Follow it with: deno task cli status spins ${jobId} --watch --base-path ${store}`,
    );
    assertOk(stdin);
    const submitted = json(stdin.stdout) as {
      job_id: string;
      status: StatusMsg;
    };
    assert.equal(submitted.status.status, "INITIALIZING");
    assertOk(relative);
    assert.match(relative.stdout, /to spins as carol: INITIALIZING\./);
    const shown = await cli(["status", "spins", submitted.job_id, ...base]);
    assert.match(shown.stdout, /owner +bob, submitted /);
    assert.match(shown.stdout, /\(queued\)/);
    const queued = await Array.fromAsync(
      Deno.readDir(join(store, "jobs/queued/spins")),
    );
    assert.equal(queued.length, 3);
  });
});

Deno.test("cli submit refuses missing, malformed and unfit jobs, naming the absolute path", async () => {
  await withLab(async ({ root, store, base }) => {
    const file = (name: string, text: string) => {
      Deno.writeTextFileSync(join(root, name), text);
      return join(root, name);
    };
    const malformed = file("malformed.json", '{"experiment_0": {');
    const list = file("list.json", "[1, 2]");
    const unfit = JSON.stringify({
      experiment_0: { ...JOB.experiment_0, instructions: [["rx", [7], [1]]] },
    });
    const unfitFile = file("unfit.json", unfit);
    const good = file("good.json", JSON.stringify(JOB));
    const runs = await Promise.all([
      cli(["submit", "spins", "nothere.json", ...base], {
        env: { INIT_CWD: root },
      }),
      cli(["submit", "spins", root, ...base]),
      cli(["submit", "spins", malformed, ...base]),
      cli(["submit", "spins", list, ...base]),
      cli(["submit", "spins", "-", ...base], { input: "" }),
      cli(["submit", "spins", "-", ...base], { input: "[]" }),
      cli(["submit", "spins", unfitFile, ...base]),
      cli(["submit", "spins", "-", ...base], { input: unfit }),
      cli(["submit", "nope", good, ...base]),
      cli(["submit", "spins", good, "--user", "a\tb", ...base]),
      cli(["submit", "spins", unfitFile, "--no-validate", "--json", ...base]),
    ]);
    const expected: [number, string][] = [
      [
        1,
        `Cannot read job file ${
          JSON.stringify(join(root, "nothere.json"))
        }: no such file`,
      ],
      [1, `Cannot read job file ${JSON.stringify(root)}: it is a folder`],
      [
        1,
        `Job file ${
          JSON.stringify(malformed)
        } is not valid JSON: Expected property name or '}' in JSON at position 18 (line 1 column 19)`,
      ],
      [
        1,
        `Job file ${
          JSON.stringify(list)
        } must hold a JSON object with keys experiment_0, experiment_1, …`,
      ],
      [
        1,
        "The job on standard input is empty: expected a JSON object with keys experiment_0, experiment_1, …",
      ],
      [
        1,
        "The job on standard input must hold a JSON object with keys experiment_0, experiment_1, …",
      ],
      [
        1,
        `Job file ${
          JSON.stringify(unfitFile)
        } does not fit backend spins: experiment_0: instruction 0 ("rx") acts on wire 7, but the backend has wires 0 to 2`,
      ],
      [
        1,
        'The job on standard input does not fit backend spins: experiment_0: instruction 0 ("rx") acts on wire 7, but the backend has wires 0 to 2',
      ],
      [1, 'Backend "nope" does not exist: it has no config'],
      [
        2,
        'Option --user: Invalid user name "a\\tb": use 1 to 256 characters without control characters',
      ],
    ];
    expected.forEach(([code, message], i) =>
      assertError(runs[i], code, message)
    );
    assertOk(runs.at(-1)!);
    const queued = await Array.fromAsync(
      Deno.readDir(join(store, "jobs/queued/spins")),
    );
    assert.equal(queued.length, 1, "only the job submitted with --no-validate");
  });
});

// --- jobs, queue -------------------------------------------------------------------

Deno.test("cli jobs lists a backend's jobs with owner, age (file times for Python's), attempts and leases", async () => {
  await withStore(async (store, base) => {
    // Python's queued jobs, with no submission record: 2h 1m and 2h old.
    for (const [i, id] of QUEUED.entries()) {
      const ageMs = 2 * HOUR + (1 - i) * MINUTE;
      await age(join(store, `jobs/queued/fermions/${id}.json`), ageMs);
    }
    const [text, asJson, failed, limited, none] = await Promise.all([
      cli(["jobs", "fermions", ...base]),
      cli(["jobs", "fermions", "--json", ...base]),
      cli(["jobs", "fermions", "--state", "failed", "--json", ...base]),
      cli(["jobs", "fermions", "--limit", "2", ...base]),
      cli(["jobs", "spinchain", "--state", "running", ...base]),
    ]);
    assertOk(text);
    assert.match(text.stdout, /^Jobs of fermions, oldest first:$/m);
    assert.match(text.stdout, /^JOB +STATE +OWNER +AGE +ATTEMPTS +LEASE$/m);
    for (const [i, id] of QUEUED.entries()) {
      assert.match(
        text.stdout,
        new RegExp(`^${id} +queued +- +2h${i === 0 ? " 1m" : ""} +0$`, "m"),
      );
    }
    assert.match(
      text.stdout,
      new RegExp(
        `^${RUNNING} +running +- +\\S+ +0 +no lease \\(taken by another tool\\)$`,
        "m",
      ),
    );
    assertOk(asJson);
    const jobs = json(asJson.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      jobs.map((job) => [job.job_id, job.state]),
      [
        [QUEUED[0], "queued"],
        [QUEUED[1], "queued"],
        [RUNNING, "running"],
        [DONE, "finished"],
        [FAILED, "failed"],
      ],
    );
    assert(
      Number(jobs[0].age_ms) >= 2 * HOUR && Number(jobs[0].age_ms) < 3 * HOUR,
    );
    assertOk(failed);
    assert.deepEqual(
      (json(failed.stdout) as Record<string, unknown>[]).map((job) =>
        job.job_id
      ),
      [FAILED],
    );
    assertOk(limited);
    assert.equal(limited.stdout.trimEnd().split("\n").length, 2 + 2 + 1);
    assert.match(limited.stdout, /^… and more; show them with --limit 20$/m);
    assertOk(none);
    assert.equal(none.stdout, "No running jobs of spinchain.\n");
    const mistakes = await Promise.all([
      cli(["jobs", "fermions", "--state", "done", ...base]),
      cli(["jobs", "fermions", "--limit", "0", ...base]),
      cli(["jobs", "fermions", "--limit", "ten", ...base]),
      cli(["jobs", "nope", ...base]),
    ]);
    assertError(
      mistakes[0],
      2,
      'Option --state needs one of queued, running, finished, failed, got "done"',
    );
    assertError(
      mistakes[1],
      2,
      'Option --limit needs a whole number from 1 to 1000000, got "0"',
    );
    assertError(
      mistakes[2],
      2,
      'Option --limit needs a whole number from 1 to 1000000, got "ten"',
    );
    assertError(
      mistakes[3],
      1,
      'Backend "nope" does not exist: it has no config',
    );
  });
});

Deno.test("cli queue counts jobs, ages Python's queued jobs by file time, and says when a lease expired", async () => {
  await withStore(async (store, base) => {
    // Python's queued jobs, with no submission record: 2h 1m and 2h old.
    for (const [i, id] of QUEUED.entries()) {
      const ageMs = 2 * HOUR + (1 - i) * MINUTE;
      await age(join(store, `jobs/queued/fermions/${id}.json`), ageMs);
    }
    const [text, asJson, unknown] = await Promise.all([
      cli(["queue", "fermions", ...base]),
      cli(["queue", "fermions", "--json", ...base]),
      cli(["queue", "nope", ...base]),
    ]);
    assertOk(text);
    assert.match(text.stdout, /^ {2}queued {4}2 \(oldest waiting 2h 1m\)$/m);
    assert.match(text.stdout, new RegExp(`${RUNNING} +no lease`));
    assertOk(asJson);
    const stats = json(asJson.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [stats.queued, stats.running, stats.finished, stats.failed],
      [2, 1, 1, 1],
    );
    assert(Number(stats.oldest_queued_age_ms) >= 2 * HOUR);
    assert.deepEqual(stats.running_jobs, [
      { job_id: RUNNING, lease_age_ms: null, expires_at: null, expired: null },
    ]);
    assertError(unknown, 1, 'Backend "nope" does not exist: it has no config');
  });
  await withLab(async ({ adapter, base }) => {
    const stale = await submit(adapter);
    const fresh = await submit(adapter);
    await claim(adapter, stale, {
      leaseMs: 1000,
      now: () => Date.now() - 60_000,
    });
    await claim(adapter, fresh);
    const [text, asJson, jobs] = await Promise.all([
      cli(["queue", "spins", ...base]),
      cli(["queue", "spins", "--json", ...base]),
      cli(["jobs", "spins", "--state", "running", "--json", ...base]),
    ]);
    assertOk(text);
    assert.match(
      text.stdout,
      new RegExp(
        `${stale}  lease taken 1m( \\d+s)? ago, expired (59s|1m( \\d+s)?) ago$`,
        "m",
      ),
    );
    assert.match(
      text.stdout,
      new RegExp(
        `${fresh}  lease taken \\d+m?s ago, runs out in 9m \\d+s$`,
        "m",
      ),
    );
    const stats = json(asJson.stdout) as {
      running_jobs: { expired: boolean }[];
    };
    assert.deepEqual(stats.running_jobs.map((job) => job.expired), [
      true,
      false,
    ]);
    const listed = json(jobs.stdout) as { lease: { expired: boolean } }[];
    assert.deepEqual(listed.map((job) => job.lease.expired), [true, false]);
  });
});

// --- cancel, retry, purge ----------------------------------------------------------

Deno.test("cli cancel ends a queued job at once and asks a running job's worker to stop", async () => {
  await withLab(async ({ adapter, base }) => {
    const first = await submit(adapter);
    const second = await submit(adapter);
    const third = await submit(adapter);
    await claim(adapter, first); // a worker runs the first; the others wait
    const [now, asJson, asked] = await Promise.all([
      cli(["cancel", "spins", second, "--by", "carol", ...base]),
      cli(["cancel", "spins", third, "--json", ...base]),
      cli(["cancel", "spins", first, ...base]),
    ]);
    assertOk(now);
    assert.equal(
      now.stdout,
      `Cancelled job ${second} of spins; its status is ERROR with the message: Cancelled by carol.\n`,
    );
    assertOk(asJson);
    assert.deepEqual(json(asJson.stdout), {
      job_id: third,
      display_name: "spins",
      outcome: "cancelled",
      message: "Cancelled by an operator.",
    });
    assertOk(asked);
    assert.match(
      asked.stdout,
      new RegExp(
        `^Job ${first} of spins is running; its worker was asked to stop it, and records ERROR with the message: Cancelled by an operator\\.$`,
        "m",
      ),
    );
    const [shown, again, unknown, noBackend, badBy] = await Promise.all([
      cli(["status", "spins", first, ...base]),
      cli(["cancel", "spins", second, ...base]),
      cli(["cancel", "spins", UNKNOWN, ...base]),
      cli(["cancel", "nope", second, ...base]),
      cli(["cancel", "spins", second, "--by", "", ...base]),
    ]);
    assert.match(shown.stdout, /lease +lease taken .*; cancel requested$/m);
    assertError(
      again,
      1,
      `Cannot cancel job ${second} of spins: it ended ERROR already`,
    );
    assertError(
      unknown,
      1,
      `Cannot cancel job ${UNKNOWN} of spins: there is no such job`,
    );
    assertError(
      noBackend,
      1,
      'Backend "nope" does not exist: it has no config',
    );
    assertError(
      badBy,
      2,
      'Option --by: Invalid user name "": use 1 to 256 characters without control characters',
    );
  });
});

Deno.test("cli retry puts a failed job back at the head of its queue", async () => {
  await withStore(async (store, base) => {
    const [text, notFailed, unknown] = await Promise.all([
      cli(["retry", "fermions", FAILED, "--by", "dora", ...base]),
      cli(["retry", "fermions", DONE, ...base]),
      cli(["retry", "nope", FAILED, ...base]),
    ]);
    assertOk(text);
    assert.equal(
      text.stdout,
      `Job ${FAILED} of fermions is back at the head of its queue: INITIALIZING (Got your json.; Retried by dora).\n`,
    );
    await Deno.stat(join(store, `jobs/queued/fermions/${FAILED}.json`));
    assertError(
      notFailed,
      1,
      `Cannot retry job ${DONE} of fermions: it is not a failed job of this backend`,
    );
    assertError(unknown, 1, 'Backend "nope" does not exist: it has no config');
  });
  await withLab(async ({ adapter, base }) => {
    const jobId = await submit(adapter);
    await finish(adapter, jobId, await claim(adapter, jobId), "ERROR");
    const run = await cli(["retry", "spins", jobId, "--json", ...base]);
    assertOk(run);
    assert.deepEqual(json(run.stdout), {
      job_id: jobId,
      display_name: "spins",
      status: {
        job_id: jobId,
        status: "INITIALIZING",
        detail: "Got your json.; Retried by an operator",
        error_message: "None",
      },
    });
  });
});

Deno.test("cli purge removes old finished and failed jobs, lists them with --dry-run, and refuses to run without --older-than", async () => {
  await withStore(async (store, base) => {
    const files = (id: string) => [
      join(store, `status/fermions/${id}.json`),
      join(
        store,
        id === DONE
          ? `jobs/finished/fermions/${id}.json`
          : `jobs/deleted/${id}.json`,
      ),
    ];
    for (const id of [DONE, FAILED]) await age(files(id)[0], 2 * DAY);
    const exists = async (path: string) =>
      await Deno.stat(path).then(() => true, () => false);
    const mistakes = await Promise.all([
      cli(["purge", "fermions", ...base]),
      cli(["purge", "fermions", "--dry-run", ...base]),
      cli(["purge", "fermions", "--older-than", "a while", ...base]),
      cli([
        "purge",
        "fermions",
        "--older-than",
        "1d",
        "--state",
        "queued",
        ...base,
      ]),
      cli(["purge", "nope", "--older-than", "1d", ...base]),
    ]);
    const refusal =
      "purge needs --older-than DURATION, e.g. --older-than 30d: it removes the jobs that ended longer ago than that";
    assertError(mistakes[0], 2, refusal);
    assertError(mistakes[1], 2, refusal);
    assertError(
      mistakes[2],
      2,
      'Option --older-than needs a duration such as 500ms, 90s, 10m, 2h or 30d, got "a while"',
    );
    assertError(
      mistakes[3],
      2,
      'Option --state needs one of finished, failed, got "queued"',
    );
    assertError(
      mistakes[4],
      1,
      'Backend "nope" does not exist: it has no config',
    );

    const [dry, dryJson, young] = await Promise.all([
      cli(["purge", "fermions", "--older-than", "1d", "--dry-run", ...base]),
      cli([
        "purge",
        "fermions",
        "--older-than",
        "1d",
        "--dry-run",
        "--json",
        ...base,
      ]),
      cli(["purge", "fermions", "--older-than", "3d", ...base]),
    ]);
    assertOk(dry);
    assert.match(
      dry.stdout,
      /^Would remove 2 jobs of fermions that ended more than 1d ago \(dry run: nothing was removed\):$/m,
    );
    assert.match(
      dry.stdout,
      new RegExp(`^${DONE} +finished +- +2d ago$`, "m"),
    );
    assertOk(dryJson);
    const report = json(dryJson.stdout) as {
      dry_run: boolean;
      removed: { job_id: string }[];
    };
    assert.equal(report.dry_run, true);
    assert.deepEqual(report.removed.map((job) => job.job_id), [DONE, FAILED]);
    assertOk(young);
    assert.equal(
      young.stdout,
      "Removed 0 jobs of fermions that ended more than 3d ago.\n",
    );
    for (const path of [...files(DONE), ...files(FAILED)]) {
      assert(await exists(path), `${path} is still there`);
    }

    const failedOnly = await cli([
      "purge",
      "fermions",
      "--older-than",
      "1d",
      "--state",
      "failed",
      ...base,
    ]);
    assertOk(failedOnly);
    assert.match(failedOnly.stdout, /^Removed 1 failed job of fermions/);
    for (const path of files(FAILED)) assert(!await exists(path), path);
    assert(await exists(files(DONE)[1]));
    const all = await cli([
      "purge",
      "fermions",
      "--older-than",
      "1d",
      "--json",
      ...base,
    ]);
    assertOk(all);
    assert.deepEqual(
      (json(all.stdout) as { removed: { job_id: string }[] }).removed.map((
        job,
      ) => job.job_id),
      [DONE],
    );
    for (
      const path of [
        ...files(DONE),
        join(store, `results/fermions/${DONE}.json`),
      ]
    ) {
      assert(!await exists(path), path);
    }
    // Queued and running jobs are never purged.
    const left = json(
      (await cli(["jobs", "fermions", "--json", ...base])).stdout,
    ) as unknown[];
    assert.equal(left.length, 3);
  });
});

// --- recover, work --------------------------------------------------------------------

Deno.test("cli recover lists unleased running jobs and requeues them only with --requeue-unleased", async () => {
  await withStore(async (_store, base) => {
    const report = await cli(["recover", "fermions", "--json", ...base]);
    assertOk(report);
    assert.deepEqual((json(report.stdout) as { unleased: string[] }).unleased, [
      RUNNING,
    ]);
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
      'Option --older-than needs a duration such as 500ms, 90s, 10m, 2h or 30d, got "5 minutes"',
    );
    assertError(
      attempts,
      2,
      'Option --max-attempts needs a whole number from 1 to 1000000, got "0"',
    );
    assertError(unknown, 1, 'Backend "nope" does not exist: it has no config');
    const requeue = await cli([
      "recover",
      "fermions",
      "--requeue-unleased",
      "--json",
      ...base,
    ]);
    assertOk(requeue);
    assert.deepEqual(
      (json(requeue.stdout) as { requeued: string[] }).requeued,
      [RUNNING],
    );
  });
});

/** A module with one backend, "tiny", that measures 1 on every wire. */
const BACKENDS_MODULE = `
export default {
  tiny: {
    config: {
      description: "A tiny test backend", version: "0.1.0", display_name: "tiny",
      cold_atom_type: "spin", gates: [], max_experiments: 2, max_shots: 10,
      simulator: true, supported_instructions: ["measure"], num_wires: 1,
      wire_order: "sequential", num_species: 1,
    },
    execute: (job) => Object.entries(job).map(([name, experiment]) => ({
      header: { name }, shots: experiment.shots, success: true,
      data: { memory: Array(experiment.shots).fill("1") },
    })),
  },
};
`;

Deno.test("cli work runs a module's backends, relative to the user's folder, until the queues are empty", async () => {
  await withTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "lab.ts"), BACKENDS_MODULE);
    const options = { env: { INIT_CWD: root } };
    const base = ["--base-path", "store"];
    // The first run makes the storage folder and uploads the config.
    const first = await cli(
      ["work", "lab.ts", "--until-idle", ...base],
      options,
    );
    assertOk(first);
    assert.match(
      first.stdout,
      new RegExp(`Worker started on ${join(root, "store")} for tiny`),
    );
    assert(!first.stdout.includes("\x1b["), "no progress line on a pipe");
    const job = {
      experiment_0: {
        instructions: [["measure", [0], []]],
        num_wires: 1,
        shots: 2,
        wire_order: "sequential",
      },
    };
    const submitted = await cli(["submit", "tiny", "-", "--json", ...base], {
      ...options,
      input: JSON.stringify(job),
    });
    assertOk(submitted);
    const { job_id: jobId } = json(submitted.stdout) as { job_id: string };
    const second = await cli([
      "work",
      "lab.ts",
      "--until-idle",
      "--json",
      ...base,
    ], options);
    assertOk(second);
    const events = second.stdout.trim().split("\n").map((line) =>
      json(line) as Record<string, unknown>
    );
    assert.deepEqual(
      events.map((event) => event.type),
      ["started", "claimed", "done", "idle", "stopped"],
    );
    assert.equal(events[2].job_id, jobId);
    assert.equal(typeof events[2].duration_ms, "number");
    const result = await cli(
      ["result", "tiny", jobId, "--json", ...base],
      options,
    );
    assert.deepEqual((json(result.stdout) as Result).results[0].data.memory, [
      "1",
      "1",
    ]);
  });
});

Deno.test("cli work refuses modules without backends or with invalid ones (exit 1), and bad options (exit 2)", async () => {
  await withTempDir(async (root) => {
    const modules: Record<string, string> = {
      "empty.ts": "export default {};\n",
      "none.ts": "export const x = 1;\n",
      "badname.ts":
        'export default { "Tiny!": { config: {}, execute: () => [] } };\n',
      "badconfig.ts":
        'export default { tiny: { config: { display_name: "tiny" }, execute: () => [] } };\n',
      "noexecute.ts": BACKENDS_MODULE.replace("execute:", "run:"),
      "syntax.ts": "export default {{;\n",
    };
    for (const [name, text] of Object.entries(modules)) {
      await Deno.writeTextFile(join(root, name), text);
    }
    const base = ["--base-path", join(root, "store")];
    const path = (name: string) => JSON.stringify(join(root, name));
    const runs = await Promise.all([
      ...Object.keys(modules).map((name) =>
        cli(["work", join(root, name), ...base])
      ),
      cli(["work", "nothere.ts", ...base], { env: { INIT_CWD: root } }),
      cli(["work", root, ...base]),
      cli(["work", "empty.ts", "--lease", "forever", ...base], {
        env: { INIT_CWD: root },
      }),
      cli(["work", "empty.ts", "--lease", "0s", ...base], {
        env: { INIT_CWD: root },
      }),
    ]);
    const expected: [number, string | RegExp][] = [
      [
        1,
        `${
          path("empty.ts")
        } exports no backends: its default export is an empty object; it must map display names to { config, execute }`,
      ],
      [
        1,
        `${
          path("none.ts")
        } exports no backends: expected a default export, or an export named "backends", that maps display names to { config, execute }`,
      ],
      [
        1,
        `The backends of ${
          path("badname.ts")
        } are not valid: Invalid display name "Tiny!": use 1 to 64 lowercase letters and digits`,
      ],
      [
        1,
        new RegExp(
          `^The backends of ${
            RegExp.escape(path("badconfig.ts"))
          } are not valid: Invalid config of backend tiny: description: `,
        ),
      ],
      [
        1,
        `The backends of ${
          path("noexecute.ts")
        } are not valid: Invalid backend tiny: expected { config, execute } with execute a function`,
      ],
      [
        1,
        new RegExp(
          `^Cannot load backends from ${
            RegExp.escape(path("syntax.ts"))
          }: SyntaxError: `,
        ),
      ],
      [1, `Cannot load backends from ${path("nothere.ts")}: no such file`],
      [1, `Cannot load backends from ${JSON.stringify(root)}: not a file`],
      [
        2,
        'Option --lease needs a duration such as 500ms, 90s, 10m, 2h or 30d, got "forever"',
      ],
      [2, 'Option --lease needs a duration of at least 1ms, got "0s"'],
    ];
    expected.forEach(([code, message], i) => {
      const run = runs[i];
      if (typeof message === "string") return assertError(run, code, message);
      assert.equal(run.code, code, run.stderr);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr.split("\n").length, 2, run.stderr);
      assert.match(run.stderr.slice("error: ".length), message);
      assert(run.stderr.startsWith("error: "));
    });
  });
});

Deno.test("cli work stops cleanly on SIGTERM", async () => {
  await withTempDir(async (root) => {
    await Deno.writeTextFile(join(root, "lab.ts"), BACKENDS_MODULE);
    const worker = spawnCli([
      "work",
      join(root, "lab.ts"),
      "--base-path",
      join(root, "store"),
      "--json",
    ]);
    // Wait until the worker says it is idle, then ask it to stop.
    await worker.until(/"type":"idle"/);
    worker.kill("SIGTERM");
    const run = await worker.finish();
    assertOk(run);
    assert.match(run.stdout, /"type":"stopped"/);
  });
});

// --- keygen, databases -----------------------------------------------------------------

Deno.test("cli keygen prints a key pair that sqooler's PRIVATE_JWK_STR format holds", async () => {
  const [text, asJson, bad, missing] = await Promise.all([
    cli(["keygen", "lab-1"]),
    cli(["keygen", "lab-2", "--json"]),
    cli(["keygen", "lab/1"]),
    cli(["keygen"]),
  ]);
  assertOk(text);
  const lines = text.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 4);
  assert.equal(
    lines[0],
    "# Public key lab-1: publish it as backends/public_keys/lab-1.json",
  );
  const secret = /^SQOOLER_PRIVATE_JWK=(\S+)$/.exec(lines[3])?.[1];
  assert(secret, lines[3]);
  const privateJwk = decodePrivateJwkEnv(secret);
  assert.equal(privateJwk.kid, "lab-1");
  assert.deepEqual(JSON.parse(lines[1]), await publicFromPrivate(privateJwk));
  assertOk(asJson);
  const pair = json(asJson.stdout) as {
    kid: string;
    public_jwk: { kid: string; d: null };
    sqooler_private_jwk: string;
  };
  assert.equal(pair.public_jwk.kid, "lab-2");
  assert.equal(pair.public_jwk.d, null);
  assert.deepEqual(
    await publicFromPrivate(decodePrivateJwkEnv(pair.sqooler_private_jwk)),
    pair.public_jwk,
  );
  assertError(
    bad,
    2,
    "Invalid kid \"lab/1\": use 1 to 128 ASCII letters, digits, '_' or '-'",
  );
  assertError(missing, 2, "keygen needs <kid> (usage: keygen <kid>)");
});

Deno.test("cli with a database that cannot be reached fails with one line", async () => {
  const run = await cli([
    "backends",
    "--database-url",
    "postgres://lab:secret@127.0.0.1:1/sqooler",
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr.split("\n").length, 2, run.stderr);
  assert.match(run.stderr, /^error: .*127\.0\.0\.1:1/);
  assert(!run.stderr.includes("secret"), "no password in messages");
});

const DATABASE_URL = Deno.env.get("DATABASE_URL");

Deno.test({
  name: "cli works on a PostgreSQL storage (DATABASE_URL)",
  ignore: DATABASE_URL === undefined,
  fn: async () => {
    const { dropSchema, schemaName } = await import("./support/postgres.ts");
    const schema = schemaName();
    const db = ["--database-schema", schema];
    try {
      await withTempDir(async (root) => {
        await Deno.writeTextFile(join(root, "lab.ts"), BACKENDS_MODULE);
        const env = { env: { DATABASE_URL: DATABASE_URL! } };
        assertOk(
          await cli(["work", join(root, "lab.ts"), "--until-idle", ...db], env),
        );
        const job = {
          experiment_0: {
            instructions: [["measure", [0], []]],
            num_wires: 1,
            shots: 1,
            wire_order: "sequential",
          },
        };
        const submitted = await cli(["submit", "tiny", "-", "--json", ...db], {
          ...env,
          input: JSON.stringify(job),
        });
        assertOk(submitted);
        const { job_id: jobId } = json(submitted.stdout) as { job_id: string };
        const [jobs, cancelled] = [
          await cli(["jobs", "tiny", "--json", ...db], env),
          await cli(["cancel", "tiny", jobId, "--json", ...db], env),
        ];
        assertOk(jobs);
        assert.deepEqual(
          (json(jobs.stdout) as { job_id: string }[]).map((j) => j.job_id),
          [jobId],
        );
        assertOk(cancelled);
        assert.equal(
          (json(cancelled.stdout) as { outcome: string }).outcome,
          "cancelled",
        );
        const backends = await cli(["backends", ...db], env);
        assertOk(backends);
        assert.match(
          backends.stdout,
          /^tiny +default_tiny_simulator +0\.1\.0 /m,
        );
      });
    } finally {
      await dropSchema(schema);
    }
  },
});

Deno.test("cli work signs with SQOOLER_PRIVATE_JWK, and cli verify says whether a result's signature holds", async () => {
  await withTempDir(async (root) => {
    const base = ["--base-path", join(root, "store")];
    const keys = await cli(["keygen", "labkey", "--json"]);
    assertOk(keys);
    const pair = json(keys.stdout) as {
      public_jwk: object;
      sqooler_private_jwk: string;
    };
    const env = { SQOOLER_PRIVATE_JWK: pair.sqooler_private_jwk };
    // A backend module whose config says sign: true.
    const module = join(root, "signing.ts");
    await Deno.writeTextFile(
      module,
      `export default { signer: { config: ${
        JSON.stringify(
          testBackendConfig("signer", { sign: true, kid: "labkey" }),
        )
      }, execute: (job) => Object.keys(job).map((name) => ({ header: { name }, shots: 1, success: true, data: { memory: ["0"] } })) } };\n`,
    );
    const unsigned = await cli(["work", module, "--until-idle", ...base]);
    assertError(
      unsigned,
      1,
      `The backends of ${
        JSON.stringify(module)
      } are not valid: Cannot run backend signer: its config says sign: true, so configs and results must be signed, and the worker has no privateJwk (set SQOOLER_PRIVATE_JWK)`,
    );
    const first = await cli(["work", module, "--until-idle", ...base], { env });
    assertOk(first);
    const jobFile = join(root, "job.json");
    await Deno.writeTextFile(
      jobFile,
      JSON.stringify({
        experiment_0: {
          instructions: [],
          num_wires: 1,
          shots: 1,
          wire_order: "sequential",
        },
      }),
    );
    const submitted = await cli([
      "submit",
      "signer",
      jobFile,
      "--json",
      ...base,
    ]);
    assertOk(submitted);
    const { job_id: jobId } = json(submitted.stdout) as { job_id: string };
    assertOk(await cli(["work", module, "--until-idle", ...base], { env }));
    // The public key where sqooler 0.9 keeps it, for users to check.
    await Deno.mkdir(join(root, "store/backends/public_keys"), {
      recursive: true,
    });
    await Deno.writeTextFile(
      join(root, "store/backends/public_keys/labkey.json"),
      JSON.stringify(pair.public_jwk),
    );
    const [holds, asJson] = await Promise.all([
      cli(["verify", "signer", jobId, ...base]),
      cli(["verify", "signer", jobId, "--json", ...base]),
    ]);
    assertOk(holds);
    assert.match(holds.stdout, /signature of the result of job .* holds/);
    assert.deepEqual(json(asJson.stdout), {
      display_name: "signer",
      job_id: jobId,
      verified: true,
    });
    // One changed character of the payload: it no longer holds.
    const resultFile = join(root, "store/results/signer", `${jobId}.json`);
    const text = await Deno.readTextFile(resultFile);
    await Deno.writeTextFile(resultFile, text.replace('"0"', '"1"'));
    const broken = await cli(["verify", "signer", jobId, ...base]);
    assert.equal(broken.code, 1, broken.stderr);
    assert.match(broken.stdout, /does NOT hold/);
  });
});

Deno.test("cli verify of an unsigned result fails with one error line", async () => {
  await withStoreCopy(LOCAL_STORE, async (basePath) => {
    const run = await cli([
      "verify",
      "fermions",
      DONE,
      "--base-path",
      basePath,
    ]);
    assertError(
      run,
      1,
      `Cannot verify results/fermions/${DONE}.json: the result is stored unsigned, as a plain result, so there is no signature to check`,
    );
  });
});
