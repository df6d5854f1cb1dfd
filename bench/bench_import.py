"""100,000-row recipients CSV through parse, preview and queue vs a plain baseline.

Run: ``.venv/bin/python bench/bench_import.py [--rows 100000]``.
The file has 5% invalid and 5% duplicate numbers, written in the mixed ways
Georgians write them. Steps, as the bulk page runs them:

- parse: ``bulk.services.collect`` reads the file once (normalize every number);
- preview: ``bulk.services.preview`` (opted-out lookups, render, parts, cost);
- queue: ``bulk.services.send`` → ``campaigns.create_campaign`` into a fresh SQLite DB.
The "Send to all" request runs all three; "Preview" runs the first two.

Baseline, same run: plain ``csv`` + ``phonenumbers.parse``/``is_valid_number`` and one
``executemany`` of the same rows into a bare table. Targets: total ≤ 10 s, peak
memory ≤ 300 MB (maxrss growth), total ≤ 2× the baseline.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHAPES = (
    lambda n: n,                                             # 599445448
    lambda n: f"{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}",           # 599 44 54 48
    lambda n: "0" + n,                                       # 0599445448
    lambda n: "+995" + n,                                    # +995599445448
    lambda n: f"+995 {n[:3]} {n[3:6]} {n[6:]}",               # +995 599 445 448
    lambda n: "995" + n,                                     # 995599445448
    lambda n: f"({n[:3]}) {n[3:5]}-{n[5:7]}-{n[7:]}",         # (599) 44-54-48
    lambda n: "00995" + n,                                   # 00995599445448
)
PREFIXES = ("599", "555", "577", "591", "595", "568", "551", "593")


def write_file(path: Path, rows: int, seed: int = 1) -> None:
    """``rows`` data rows: 90% distinct valid, 5% duplicates of earlier ones, 5% invalid."""
    rnd = random.Random(seed)
    used: list[str] = []
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Phone", "Name", "City"])
        for i in range(rows):
            roll = rnd.random()
            if roll < 0.05:
                number = rnd.choice(["12345", "hello", "599 44 54", "+995 999 99 99 99", ""])
            elif roll < 0.10 and used:
                number = rnd.choice(SHAPES)(rnd.choice(used))
            else:
                national = rnd.choice(PREFIXES) + f"{i:06d}"
                used.append(national)
                number = rnd.choice(SHAPES)(national)
            writer.writerow([number, f"Name{i}", rnd.choice(["Tbilisi", "Batumi", "Kutaisi"])])


def baseline(path: Path, db_path: Path) -> float:
    import phonenumbers

    start = time.perf_counter()
    rows, seen = [], set()
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for number, name, _city in reader:
            try:
                parsed = phonenumbers.parse(number, "GE")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(parsed):
                continue
            e164 = f"{parsed.country_code}{parsed.national_number}"
            if e164 not in seen:
                seen.add(e164)
                rows.append((e164, f"Hello {name}"))
    connection = sqlite3.connect(db_path)
    connection.execute("CREATE TABLE message (id INTEGER PRIMARY KEY, recipient TEXT, body TEXT)")
    connection.executemany("INSERT INTO message (recipient, body) VALUES (?, ?)", rows)
    connection.commit()
    connection.close()
    return time.perf_counter() - start


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smsco-bench-import-"))
    path = work / "recipients.csv"
    write_file(path, args.rows)

    from smsco.web import create_app
    from smsco.web.bulk import services
    from smsco.web.bulk.campaigns import CampaignSpec
    from smsco.web.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.sqlite'}",
                      "SMSCO_SCHEDULER": False, "SMSCO_UPLOAD_DIR": str(work)})
    base = baseline(path, work / "baseline.sqlite")
    with app.app_context():
        db.create_all()
        rss_before = maxrss_mb()
        start = time.perf_counter()
        collected = services.collect(services.Sources(file=path))
        parsed = time.perf_counter()
        preview = services.preview(collected, "Hello {name} from {city}", marketing=True)
        previewed = time.perf_counter()
        campaign = services.send(collected, CampaignSpec(name="Bench",
                                                       body="Hello {name} from {city}"),
                                 None, "bench-key")
        queued = time.perf_counter()
        rss_growth = maxrss_mb() - rss_before
        count = campaign.recipient_count
    total = queued - start
    print(f"rows {args.rows}: valid {preview.valid}, invalid {preview.invalid}, "
          f"duplicates {preview.duplicates}, queued {count}")
    print(f"parse    {parsed - start:6.2f} s")
    print(f"preview  {previewed - parsed:6.2f} s")
    print(f"queue    {queued - previewed:6.2f} s")
    print(f"total    {total:6.2f} s (target <= 10 s)")
    print(f"baseline {base:6.2f} s (csv + phonenumbers + one executemany)")
    print(f"ratio    {total / base:6.2f}x (target <= 2x)")
    print(f"memory   +{rss_growth:.0f} MB maxrss (target <= 300 MB)")


if __name__ == "__main__":
    main()
