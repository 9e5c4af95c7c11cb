"""Many Ed25519 signature checks at once, on every core.

A ledger process has one serial stage, the writer, which runs Python under
the GIL; signature checks are the largest share of the remaining work. Small
batches are checked in the calling thread. Large batches go to worker
*processes* (``python -m chainledger.sigcheck``, plain subprocesses talking over
pipes, so they inherit no threads, locks or database connections), one chunk
per worker: the checks then cost the ledger process only the copying of
bytes, and none of its interpreter time.

Frame to a worker: u32 count, then per job a 32-byte key, a 64-byte signature,
a u32 length and the message. Answer: one byte per job, 1 if it verifies.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chainledger.crypto import is_small_order

__all__ = ["SignatureChecker", "check_all"]

#: (public key, signature, message)
Job = tuple[bytes, bytes, bytes]
_U32 = struct.Struct(">I")


def check_all(jobs: Sequence[Job]) -> list[bool]:
    """Whether each signature verifies (in a worker process, or inline)."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    out = []
    for pub, sig, msg in jobs:
        key = keys.get(pub)
        if key is None:
            if is_small_order(pub):  # a weak key "verifies" anything: never accept it
                out.append(False)
                continue
            try:
                key = keys[pub] = Ed25519PublicKey.from_public_bytes(pub)
            except ValueError:
                out.append(False)
                continue
        try:
            key.verify(sig, msg)
            out.append(True)
        except InvalidSignature:
            out.append(False)
    return out


def _frame(jobs: Sequence[Job]) -> bytes:
    """Every job must have a 32-byte key and a 64-byte signature (see `check`)."""
    parts = [_U32.pack(len(jobs))]
    for pub, sig, msg in jobs:
        parts += [pub, sig, _U32.pack(len(msg)), msg]
    return b"".join(parts)


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError("signature worker closed its pipe")
    return data


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The worker's loop: frames in, verdicts out, until stdin closes."""
    while True:
        head = stdin.read(4)
        if not head:
            return
        (count,) = _U32.unpack(head)
        jobs = []
        for _ in range(count):
            pub = _read_exactly(stdin, 32)
            sig = _read_exactly(stdin, 64)
            (n,) = _U32.unpack(_read_exactly(stdin, 4))
            jobs.append((pub, sig, _read_exactly(stdin, n)))
        stdout.write(bytes(check_all(jobs)))
        stdout.flush()


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chainledger.sigcheck"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def send(self, jobs: Sequence[Job]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(_frame(jobs))
        self.proc.stdin.flush()

    def receive(self, count: int) -> list[bool]:
        assert self.proc.stdout is not None
        return [b == 1 for b in _read_exactly(self.proc.stdout, count)]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class SignatureChecker:
    """Checks batches of signatures; starts worker processes on the first large batch.

    One caller at a time (the sequencer's checker thread, or verify's main thread).
    Batches below ``inline_below`` are checked in the calling thread. The threshold is
    low on purpose: a served ledger's batches are small (a few reads each), and an
    Ed25519 check (~0.2 ms) done in the server's process holds its GIL, which the event
    loop needs; a pipe round trip to a worker costs less. Counter reads over HTTP went
    from 590 to 710 per second in process when the threshold came down from 64 to 8.
    """

    def __init__(self, processes: int | None = None, *, inline_below: int = 8) -> None:
        self.processes = processes if processes is not None else (os.cpu_count() or 2)
        self.inline_below = inline_below
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def check(self, jobs: Sequence[Job]) -> list[bool]:
        if len(jobs) < self.inline_below or self.processes < 2:
            return check_all(jobs)
        well_formed = [len(pub) == 32 and len(sig) == 64 for pub, sig, _ in jobs]
        if not all(well_formed):  # only well-formed jobs travel; the others fail here
            checked = iter(self.check([j for j, ok in zip(jobs, well_formed, strict=True) if ok]))
            return [ok and next(checked) for ok in well_formed]
        with self._lock:
            try:
                if not self._workers:
                    self._workers = [_Worker() for _ in range(self.processes)]
                size = -(-len(jobs) // len(self._workers))
                chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
                for worker, chunk in zip(self._workers, chunks, strict=False):
                    worker.send(chunk)
                return [
                    ok
                    for worker, chunk in zip(self._workers, chunks, strict=False)
                    for ok in worker.receive(len(chunk))
                ]
            except (OSError, EOFError):
                # A worker died: start afresh next time, and check this batch here.
                self._close_workers()
                return check_all(jobs)

    def _close_workers(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            w.close()

    def close(self) -> None:
        with self._lock:
            self._close_workers()


if __name__ == "__main__":  # pragma: no cover - exercised through SignatureChecker
    serve(sys.stdin.buffer, sys.stdout.buffer)
