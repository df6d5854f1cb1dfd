"""5,000 sends to the simulator: ``Client`` vs a raw keep-alive loop vs naive ``requests.get``.

Run: ``.venv/bin/python bench/bench_client.py [--sends 5000]``.
Targets: Client >= 0.9x the raw ``requests.Session.get`` rate and >= 2x the
rate of a naive ``requests.get`` per call (a new connection each time).
The simulator runs in a separate process so it does not share our GIL.
The three loops run interleaved in rounds so drift hits all of them alike.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smsco import Client  # noqa: E402
from smsco.client import SEND_PATH  # noqa: E402

USER, PASSWORD = "bench", "bench-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsco.simulator", "--port", str(port), "--username", USER,
         "--password", PASSWORD, "--balance", "100000000"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the simulator did not start")


def numbers(count: int, offset: int) -> list[str]:
    """Distinct valid Georgian mobile numbers, written as a person would."""
    return [f"599 {(offset + i) // 10000 % 100:02d} {(offset + i) // 100 % 100:02d} "
            f"{(offset + i) % 100:02d}" for i in range(count)]


def gateway_form(number: str) -> str:
    return "995" + number.replace(" ", "")


def run_client(base_url: str, batch: list[str]) -> None:
    with Client(USER, PASSWORD, base_url=base_url) as client:
        for number in batch:
            client.send(number, "Benchmark message")


def run_raw_session(base_url: str, batch: list[str]) -> None:
    with requests.Session() as session:
        for number in batch:
            params = {"username": USER, "password": PASSWORD,
                      "recipient": gateway_form(number), "message": "Benchmark message"}
            reply = session.get(base_url + SEND_PATH, params=params, timeout=(5, 15))
            assert reply.text.startswith("OK"), reply.text


def run_naive(base_url: str, batch: list[str]) -> None:
    for number in batch:
        params = {"username": USER, "password": PASSWORD,
                  "recipient": gateway_form(number), "message": "Benchmark message"}
        reply = requests.get(base_url + SEND_PATH, params=params, timeout=(5, 15),
                             headers={"Connection": "close"})
        assert reply.text.startswith("OK"), reply.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    proc = start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    loops = {"client": run_client, "raw session": run_raw_session, "naive get": run_naive}
    elapsed = dict.fromkeys(loops, 0.0)
    per_round = args.sends // args.rounds
    try:
        run_raw_session(base_url, numbers(50, 900000))  # warm-up
        for round_no in range(args.rounds):
            for offset, (name, loop) in enumerate(loops.items()):
                batch = numbers(per_round, (round_no * 3 + offset) * per_round)
                started = time.perf_counter()
                loop(base_url, batch)
                elapsed[name] += time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(10)
    sends = per_round * args.rounds
    rates = {name: sends / seconds for name, seconds in elapsed.items()}
    for name, rate in rates.items():
        print(f"{name:12s} {sends} sends in {elapsed[name]:6.2f} s  {rate:8.0f} sends/s")
    vs_raw = rates["client"] / rates["raw session"]
    vs_naive = rates["client"] / rates["naive get"]
    print(f"client / raw session = {vs_raw:.2f}x  (target >= 0.90x)")
    print(f"client / naive get   = {vs_naive:.2f}x  (target >= 2.00x)")


if __name__ == "__main__":
    main()
