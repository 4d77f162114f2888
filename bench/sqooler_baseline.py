#!/usr/bin/env python3
"""A stand-in for sqooler's local provider, to run the same lifecycle side by side.

PyPI cannot be reached from our machines, so real sqooler cannot be installed.
This is a stdlib-only re-implementation of the file operations of sqooler's
``LocalProviderExtended`` as its API documentation describes them
(``../shared/reference/sqooler-local-provider-api.txt``): plain ``open(..., "w")``
+ ``json.dump`` writes, ``os.path.exists`` checks, ``shutil.move`` moves, and
``get_next_job_in_queue`` that lists the whole queue folder and rewrites the
backend's config (``timestamp_queue``: read the config, set
``last_queue_check``, write it back) on every poll. It skips sqooler's pydantic
models (``StatusMsgDict``, ``ResultDict``, ``BackendConfigSchemaIn``), so it is
faster than the real thing: a conservative baseline.

    python3 bench/sqooler_baseline.py [--depths=100,1000,5000,10000] [--reps=3]
        [--json[=path]] [--dir=path] [--no-warmup]

The lifecycle and its phases are those of ``bench/throughput.ts``, and so is
the shape of the ``--json`` figures. ``bench/throughput.ts --sqooler`` runs this
script itself, in turn with its own runs, so that both see the same load.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

DISPLAY = "bench"
USER = "alice"
CONFIG = {
    "description": "Benchmark simulator",
    "version": "0.1.0",
    "display_name": DISPLAY,
    "cold_atom_type": "spin",
    "gates": [{"name": "rlx", "parameters": ["omega"], "description": "x rotation"}],
    "max_experiments": 50,
    "max_shots": 1000,
    "simulator": True,
    "supported_instructions": ["rlx", "measure", "barrier"],
    "num_wires": 1,
    "wire_order": "interleaved",
    "num_species": 1,
    "operational": True,
    "pending_jobs": None,
    "status_msg": None,
    "last_queue_check": None,
}
JOB = {
    "experiment_0": {
        "instructions": [["rlx", [0], [0.7]], ["measure", [0], []]],
        "num_wires": 1,
        "shots": 4,
        "wire_order": "interleaved",
    }
}


def done_status(job_id):
    return {
        "job_id": job_id,
        "status": "DONE",
        "detail": "Got your json.; Passed json sanity check; Compilation done. "
        "Shots sent to solver.; All done.",
        "error_message": "None",
    }


def result(job_id):
    return {
        "backend_name": None,
        "display_name": DISPLAY,
        "backend_version": "0.1.0",
        "job_id": job_id,
        "qobj_id": None,
        "success": True,
        "status": "DONE",
        "header": {},
        "results": [
            {
                "header": {"name": "experiment_0"},
                "shots": 4,
                "success": True,
                "data": {"memory": ["1", "0", "0", "1"]},
            }
        ],
    }


class LocalProvider:
    """The file operations of sqooler's LocalProviderExtended, without pydantic."""

    def __init__(self, base_path, name="default"):
        self.base_path = base_path
        self.name = name

    def upload(self, content_dict, storage_path, job_id):
        storage_path = storage_path.strip("/")
        folder_path = self.base_path + "/" + storage_path
        if not os.path.exists(folder_path):
            os.makedirs(folder_path)
        full_json_path = os.path.join(folder_path, job_id + ".json")
        secure_path = os.path.normpath(full_json_path)
        with open(secure_path, "w", encoding="utf-8") as json_file:
            json.dump(content_dict, json_file)

    def _existing_file(self, storage_path, job_id):
        """The checked path of get_file_content and update_file."""
        storage_path = storage_path.strip("/")
        full_json_path = os.path.join(self.base_path, storage_path, job_id + ".json")
        secure_path = os.path.normpath(full_json_path)
        if not os.path.exists(secure_path):
            raise FileNotFoundError(f"The file {secure_path} does not exist.")
        return secure_path

    def get_file_content(self, storage_path, job_id):
        secure_path = self._existing_file(storage_path, job_id)
        with open(secure_path, "r", encoding="utf-8") as json_file:
            return json.load(json_file)

    def get_job_content(self, storage_path, job_id):
        return self.get_file_content(storage_path=storage_path, job_id=job_id)

    def update_file(self, content_dict, storage_path, job_id):
        secure_path = self._existing_file(storage_path, job_id)
        with open(secure_path, "w", encoding="utf-8") as json_file:
            json.dump(content_dict, json_file)

    def move_file(self, start_path, final_path, job_id):
        start_path = start_path.strip("/")
        source_file = self.base_path + "/" + start_path + "/" + job_id + ".json"
        final_path = self.base_path + "/" + final_path + "/"
        if not os.path.exists(final_path):
            os.makedirs(final_path)
        shutil.move(source_file, final_path)

    def upload_config(self, config_dict, display_name):
        config_path = os.path.normpath(os.path.join(self.base_path, "backends/configs"))
        if not os.path.exists(config_path):
            os.makedirs(config_path)
        secure_path = os.path.normpath(os.path.join(config_path, display_name + ".json"))
        with open(secure_path, "w", encoding="utf-8") as json_file:
            json_file.write(json.dumps(config_dict))

    def get_config(self, display_name):
        config_path = self.base_path + "/backends/configs"
        secure_path = os.path.normpath(os.path.join(config_path, display_name + ".json"))
        with open(secure_path, "r", encoding="utf-8") as json_file:
            backend_config_dict = json.load(json_file)
        if not backend_config_dict:
            raise FileNotFoundError("The backend does not exist for the given storage.")
        return backend_config_dict

    def timestamp_queue(self, display_name):
        # sqooler's StorageProvider.timestamp_queue: read the config, stamp it, write it back.
        config_dict = self.get_config(display_name)
        config_dict["last_queue_check"] = datetime.now(timezone.utc).isoformat()
        self.upload_config(config_dict, display_name)

    def get_backend_dict(self, display_name):
        config = self.get_config(display_name)
        kind = "simulator" if config["simulator"] else "hardware"
        return {
            "description": config["description"],
            "display_name": config["display_name"],
            "backend_version": config["version"],
            "n_qubits": config["num_wires"],
            "backend_name": f"{self.name}_{config['display_name']}_{kind}",
            "basis_gates": [gate["name"] for gate in config["gates"]],
            "max_experiments": config["max_experiments"],
            "max_shots": config["max_shots"],
            "simulator": config["simulator"],
            "gates": config["gates"],
            "supported_instructions": config["supported_instructions"],
            "cold_atom_type": config["cold_atom_type"],
            "wire_order": config["wire_order"],
            "num_species": config["num_species"],
        }

    def upload_job(self, job_dict, display_name, username):
        job_id = (uuid.uuid4().hex)[:24]
        self.upload(content_dict=job_dict, storage_path="jobs/queued/" + display_name, job_id=job_id)
        return job_id

    def upload_status(self, display_name, username, job_id):
        status_draft = {
            "job_id": job_id,
            "status": "INITIALIZING",
            "detail": "Got your json.",
            "error_message": "None",
        }
        self.upload(content_dict=status_draft, storage_path="status/" + display_name, job_id=job_id)
        return status_draft

    def get_status(self, display_name, username, job_id):
        try:
            return self.get_file_content(storage_path="status/" + display_name, job_id=job_id)
        except FileNotFoundError:
            return {
                "job_id": job_id,
                "status": "ERROR",
                "detail": "Cannot get status",
                "error_message": f"Could not find status for {display_name} with job_id {job_id}.",
            }

    def get_result(self, display_name, username, job_id):
        backend_config_info = self.get_backend_dict(display_name)
        result_dict = self.get_file_content(storage_path="results/" + display_name, job_id=job_id)
        result_dict["backend_name"] = backend_config_info["backend_name"]
        return result_dict

    def update_in_database(self, result_dict, status_msg_dict, job_id, display_name):
        job_json_start_dir = "jobs/running"
        if status_msg_dict["status"] == "DONE":
            if result_dict is None:
                raise ValueError("The 'result_dict' argument cannot be None if the job is done.")
            self.upload(result_dict, "results/" + display_name, job_id)
            self.move_file(job_json_start_dir, "jobs/finished/" + display_name, job_id)
        elif status_msg_dict["status"] == "ERROR":
            self.move_file(job_json_start_dir, "jobs/deleted", job_id)
        self.update_file(status_msg_dict, "status/" + display_name, job_id)

    def get_file_queue(self, storage_path):
        full_path = self.base_path + "/" + storage_path
        if not os.path.exists(full_path):
            return []
        return os.listdir(full_path)

    def get_next_job_in_queue(self, display_name):
        queue_dir = "jobs/queued/" + display_name
        job_dict = {"job_id": 0, "job_json_path": "None"}
        job_list = self.get_file_queue(queue_dir)
        self.timestamp_queue(display_name)
        if job_list:
            job_id = job_list[0][:-5]
            job_dict["job_id"] = job_id
            self.move_file(queue_dir, "jobs/running", job_id)
            job_dict["job_json_path"] = "jobs/running"
        return job_dict


def lifecycle(base_path, n):
    storage = LocalProvider(base_path, name="bench")
    storage.upload_config(CONFIG, DISPLAY)
    ids = []
    t0 = time.perf_counter()
    for _ in range(n):
        job_id = storage.upload_job(JOB, DISPLAY, USER)
        storage.upload_status(DISPLAY, USER, job_id)
        ids.append(job_id)
    t1 = time.perf_counter()
    taken = 0
    while True:
        next_job = storage.get_next_job_in_queue(DISPLAY)
        if next_job["job_json_path"] == "None":
            break
        job_id = next_job["job_id"]
        storage.get_job_content(next_job["job_json_path"], job_id)
        storage.update_in_database(result(job_id), done_status(job_id), job_id, DISPLAY)
        taken += 1
    if taken != n:
        raise RuntimeError(f"Drained {taken} of {n} jobs")
    t2 = time.perf_counter()
    for job_id in ids:
        status = storage.get_status(DISPLAY, USER, job_id)
        found = storage.get_result(DISPLAY, USER, job_id)
        if status["status"] != "DONE" or found["backend_name"] is None:
            raise RuntimeError(f"Job {job_id} reads as {status['status']}")
    t3 = time.perf_counter()
    return {"submit": t1 - t0, "drain": t2 - t1, "read": t3 - t2}


def figure(seconds, jobs):
    return {
        "ms": round(seconds * 1000, 3),
        "jobsPerSec": round(jobs / seconds),
        "usPerJob": round(seconds * 1e6 / jobs, 2),
    }


def run_once(depth, folder=None):
    base_path = tempfile.mkdtemp(prefix="sqooler_py_bench_", dir=folder)
    try:
        return lifecycle(base_path, depth)
    finally:
        shutil.rmtree(base_path)


def measure(depth, reps, folder):
    best = {"submit": float("inf"), "drain": float("inf"), "read": float("inf")}
    for _ in range(reps):
        phases = run_once(depth, folder)
        for phase, seconds in phases.items():
            best[phase] = min(best[phase], seconds)
    return {
        "config": "sqooler-py",
        "depth": depth,
        "reps": reps,
        "phases": {phase: figure(seconds, depth) for phase, seconds in best.items()},
        "total": figure(sum(best.values()), depth),
        "floorRatio": None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="100,1000,5000,10000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", nargs="?", const=True, default=None)
    parser.add_argument("--dir", default=None, help="where the storage folders go")
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()
    depths = [int(depth) for depth in args.depths.split(",")]
    if not args.no_warmup:
        run_once(100, args.dir)
    rows = []
    for depth in depths:
        reps = args.reps * 3 if depth <= 100 else args.reps
        print(f"sqooler-py at depth {depth} ({reps}x) ...", file=sys.stderr)
        rows.append(measure(depth, reps, args.dir))
    out = sys.stderr if args.json is True else sys.stdout
    print(f"\n{'config':<11} {'depth':>7} {'submit/s':>9} {'drain/s':>8} {'read/s':>8} {'e2e/s':>7} {'µs/job':>8}", file=out)
    for row in rows:
        phases = row["phases"]
        print(
            f"{row['config']:<11} {row['depth']:>7,} {phases['submit']['jobsPerSec']:>9,} "
            f"{phases['drain']['jobsPerSec']:>8,} {phases['read']['jobsPerSec']:>8,} "
            f"{row['total']['jobsPerSec']:>7,} {row['total']['usPerJob']:>8.1f}",
            file=out,
        )
    report = {"python": sys.version.split()[0], "rows": rows}
    if args.json is True:
        print(json.dumps(report, indent=2))
    elif args.json is not None:
        with open(args.json, "w", encoding="utf-8") as file:
            file.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
