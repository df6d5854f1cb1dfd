"""Hostile and large uploads through the server: peak memory and time per file.

Run: ``.venv/bin/python bench/bench_uploads.py [--rows N] [--only NAME ...]``.

Each file is crafted first (tests/hostile_files.py: a 1 MB workbook that
unpacks to 1 GiB, a 16,384-column workbook, one whose dimension claims
A1:XFD1048576, one with 5,000,000 elements before its rows, one with a
million empty rows, malformed XML, XML entities, a 200 KB CSV cell, a CSV
line of 600,000 cells, a binary .csv, a dense 20 MB CSV) and then served by
a fresh server process (the app behind Flask's test client, logged in) that
uploads it to the contacts import, maps and imports it when accepted, and
previews it on the bulk page.
That process reports its peak RSS (``VmHWM``: imports included) and its
slowest request, in wall time and in CPU time (which the load of a shared
machine inflates much less). The largest workbook the default limits accept
(5 columns, as many rows as ``SMSCO_UPLOAD_MAX_CELLS`` allows: 149,999 and a
header) is measured the same way, once written as Excel writes it (shared
strings, a dimension) and once in the slowest form openpyxl reads (every
text inline, no dimension).

Baseline, same run: the same process serving a 10-row CSV. Targets: every
file's peak RSS < 500 MB and slowest answer < 30 s; refusals within 2x the
baseline's memory.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smsco.web.contacts.limits import Limits  # noqa: E402
from tests import hostile_files  # noqa: E402

LIMIT_MB, LIMIT_S = 500, 30


def build_files(work: Path, rows: int) -> dict[str, Path]:
    """Every crafted file, by name (the big workbook takes a few seconds)."""
    baseline = work / "baseline.csv"
    baseline.write_text("Phone,Name\n" + "".join(f"59900{i:04d},Name {i}\n" for i in range(10)),
                        encoding="utf-8")
    return {
        "baseline 10-row CSV": baseline,
        "zip bomb (1 GiB sheet)": hostile_files.zip_bomb(work / "bomb.xlsx"),
        "16,384 columns": hostile_files.wide_workbook(work / "wide.xlsx"),
        "dimension claims XFD1048576": hostile_files.claims_wide_workbook(work / "claims.xlsx"),
        "5,000,000 elements before rows": hostile_files.junk_workbook(work / "junk.xlsx"),
        "1,000,000 empty rows": hostile_files.empty_rows_workbook(work / "empty-rows.xlsx",
                                                                  1_000_000),
        "malformed XML": hostile_files.malformed_workbook(work / "malformed.xlsx"),
        "XML entities": hostile_files.entity_workbook(work / "entities.xlsx"),
        "200 KB CSV cell": hostile_files.huge_field_csv(work / "huge-field.csv"),
        "600,000-cell CSV line": hostile_files.long_line_csv(work / "long-line.csv"),
        "binary .csv": hostile_files.binary_csv(work / "binary.csv"),
        "dense CSV (180,000 x 50)": hostile_files.dense_csv(work / "dense.csv"),
        f"Excel-like, {rows:,} x 5": hostile_files.big_workbook(work / "big.xlsx", rows),
        f"inline text, {rows:,} x 5": hostile_files.rows_workbook(work / "slow.xlsx", [
            ["Phone", "Name", "City", "A", "B"],
            *([599000000 + n, f"Name {n}", "Tbilisi", f"a{n}", f"b{n}"] for n in range(rows))]),
    }


def measure(path: Path) -> dict[str, object]:
    """Serve one file in a fresh process; its figures as a dict."""
    completed = subprocess.run([sys.executable, __file__, "--serve", str(path)],
                               capture_output=True, text=True, timeout=600, check=False)
    if completed.returncode:
        raise RuntimeError(completed.stderr[-2000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


# -- the server process -----------------------------------------------------------------


def cpu_seconds() -> float:
    """CPU time of this process: unlike wall time, it does not grow with the machine's load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(path: Path) -> dict[str, object]:
    """Upload ``path`` to the contacts import (and import it) and to the bulk preview."""
    from smsco.web import create_app
    from smsco.web.extensions import db
    from smsco.web.models import Contact, Role, User

    work = Path(tempfile.mkdtemp(prefix="smsco-bench-uploads-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "SMSCO_SCHEDULER": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.sqlite'}",
                      "SMSCO_UPLOAD_DIR": str(work / "uploads"), "SMSCO_QUIET_RULE": None})
    with app.app_context():
        db.create_all()
        admin = User(username="admin", role=Role.ADMIN)
        admin.set_password("bench-password")
        db.session.add(admin)
        db.session.commit()
        admin_id = admin.id
    web = app.test_client()
    with web.session_transaction() as session:
        session["_user_id"] = str(admin_id)
    headers = {"Accept-Language": "en"}
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(step, call):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        response = call()
        timings[step] = round(time.perf_counter() - start, 3)
        cpu[step] = round(cpu_seconds() - start_cpu, 3)
        return response

    data = path.read_bytes()

    def upload():
        return {"file": (io.BytesIO(data), path.name)}

    answer = timed("contacts upload", lambda: web.post(
        "/contacts/import", data=upload(), headers=headers, content_type="multipart/form-data"))
    contacts = "refused"
    if answer.status_code == 302:
        mapping = answer.headers["Location"]
        timed("mapping page", lambda: web.get(mapping, headers=headers))
        done = timed("import", lambda: web.post(mapping, headers=headers, data={
            "column-0": "__phone__", "column-1": "name", "column-2": "city"}))
        with app.app_context():
            contacts = f"{db.session.query(Contact).count():,} imported"
        if done.status_code != 302:
            contacts = f"import answered {done.status_code}"
    elif answer.status_code != 200:
        contacts = f"answered {answer.status_code}"
    page = timed("bulk preview", lambda: web.post("/bulk", headers=headers, data={
        "name": "Bench", "message": "Hello {name}", "marketing": "y", "key": "bench",
        "action": "preview", "recipients_file": (io.BytesIO(data), path.name)},
        content_type="multipart/form-data"))
    valid = re.search(r'data-count="valid">(\d+)', page.get_data(as_text=True))
    bulk = (f"{int(valid.group(1)):,} valid" if valid else "refused") \
        if page.status_code == 200 else f"answered {page.status_code}"
    return {"contacts": contacts, "bulk": bulk, "timings": timings, "cpu": cpu,
            "slowest": max(timings.values()), "slowest_cpu": max(cpu.values()),
            "rss_mb": peak_rss_mb()}


def peak_rss_mb() -> int:
    """This process's peak resident memory in MB.

    Linux's ``VmHWM`` starts afresh with the program; ``ru_maxrss`` would carry the
    parent's peak over the fork, and the parent built the files.
    """
    try:
        status = Path("/proc/self/status").read_text()
        return round(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
    except (OSError, AttributeError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=Limits().cells // 5 - 1,
                        help="rows of the accepted workbooks (default: as many as the limits "
                             "accept at 5 columns)")
    parser.add_argument("--only", nargs="*", help="names (or parts of names) of files to run")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(Path(args.serve))))
        return
    work = Path(tempfile.mkdtemp(prefix="smsco-bench-uploads-"))
    files = build_files(work, args.rows)
    if args.only:
        files = {name: path for name, path in files.items()
                 if name.startswith("baseline") or any(o in name for o in args.only)}
    print(f"{'file':32} {'size':>9}  {'contacts import':18} {'bulk preview':14} "
          f"{'slowest (cpu)':>15} {'peak RSS':>9}")
    base, worst_mb, worst_s = None, 0, 0.0
    for name, path in files.items():
        figures = measure(path)
        base = base or figures
        worst_mb = max(worst_mb, figures["rss_mb"])
        worst_s = max(worst_s, figures["slowest"])
        print(f"{name:32} {path.stat().st_size / 1e6:7.2f}MB  {figures['contacts']:18} "
              f"{figures['bulk']:14} {figures['slowest']:6.2f}s ({figures['slowest_cpu']:5.2f}s)"
              f" {figures['rss_mb']:6d} MB"
              f"  ({figures['rss_mb'] / base['rss_mb']:.2f}x baseline)")
    print(f"worst: {worst_mb} MB peak RSS (target < {LIMIT_MB} MB), "
          f"{worst_s:.2f} s slowest answer (target < {LIMIT_S} s)")


if __name__ == "__main__":
    main()
