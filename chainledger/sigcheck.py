"""Many Ed25519 signature checks (and other per-entry work) at once, on every core.

A ledger process has one serial stage, the writer, which runs Python under
the GIL; signature checks are the largest share of the remaining work. Small
batches are checked in the calling thread. Large batches go to worker
*processes* (`serve` in ``python -c`` subprocesses, talking over
pipes, so they inherit no threads, locks or database connections), one chunk
per worker: the checks then cost the ledger process only the copying of
bytes, and none of its interpreter time.

`chainledger.verify` keeps its workers' signature checks in flight while it
replays the next entries (`SignaturePool`: requests to a chosen worker, answers
read in order).

Frames to a worker: one op byte, a u32 payload length, the payload. Answer: a
u32 length and the payload. Ops:

* ``C`` check: u32 count, then per job a 32-byte key, a 64-byte signature, a u32
  length and the message. Answer: one byte per job, 1 if it verifies.
* ``P`` check and pack: the same jobs; answer: one verdict byte per job, then per
  job a u32 length and the message packed for storage
  (`chainledger.store.entry_codec.pack_statement`).
A worker reads its requests on one thread and writes its answers on another,
so a parent that sends several requests before reading never deadlocks on a
full pipe.
"""

from __future__ import annotations

import contextlib
import os
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from typing import IO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chainledger.child_process import python_command
from chainledger.crypto import is_small_order

__all__ = [
    "OP_CHECK",
    "Job",
    "SignatureChecker",
    "SignaturePool",
    "Ticket",
    "check_all",
    "frame_jobs",
]

#: (public key, signature, message)
Job = tuple[bytes, bytes, bytes]
_U32 = struct.Struct(">I")
_HEAD = struct.Struct(">BI")  # op, payload length
OP_CHECK, OP_PACK = b"C", b"P"


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


def frame_jobs(jobs: Sequence[Job]) -> bytes:
    """The payload of a ``C`` or ``P`` request. Every job must have a 32-byte key and a
    64-byte signature: callers fail any other job themselves."""
    parts = [_U32.pack(len(jobs))]
    for pub, sig, msg in jobs:
        parts += [pub, sig, _U32.pack(len(msg)), msg]
    return b"".join(parts)


def _parse_jobs(payload: bytes) -> list[Job]:
    (count,) = _U32.unpack_from(payload)
    off = 4
    jobs = []
    for _ in range(count):
        pub, sig = payload[off : off + 32], payload[off + 32 : off + 96]
        (n,) = _U32.unpack_from(payload, off + 96)
        off += 100
        jobs.append((pub, sig, payload[off : off + n]))
        off += n
    return jobs


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError("signature worker closed its pipe")
    return data


def _handle(op: bytes, payload: bytes) -> bytes:
    """What a worker does with one request (also run inline, in the caller's process)."""
    if op == OP_CHECK:
        return bytes(check_all(_parse_jobs(payload)))
    if op == OP_PACK:
        from chainledger.store.entry_codec import pack_statement

        jobs = _parse_jobs(payload)
        parts = [bytes(check_all(jobs))]
        for _, _, msg in jobs:
            packed = pack_statement(msg)
            parts += [_U32.pack(len(packed)), packed]
        return b"".join(parts)
    raise ValueError(f"unknown op {op!r}")


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The worker's loop: frames in, answers out, until stdin closes."""
    inbox: queue.SimpleQueue[tuple[bytes, bytes] | None] = queue.SimpleQueue()
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while len(head := stdin.read(_HEAD.size)) == _HEAD.size:
                op, n = _HEAD.unpack(head)
                inbox.put((bytes([op]), _read_exactly(stdin, n)))
        except (OSError, EOFError):
            pass
        finally:
            inbox.put(None)

    def write() -> None:
        try:
            while (answer := outbox.get()) is not None:
                stdout.write(_U32.pack(len(answer)))
                stdout.write(answer)
                stdout.flush()
        except OSError:  # the parent went away: nothing left to answer
            pass

    reader = threading.Thread(target=read, daemon=True)
    writer = threading.Thread(target=write, daemon=True)
    reader.start()
    writer.start()
    while (request := inbox.get()) is not None:
        outbox.put(_handle(*request))
    outbox.put(None)
    writer.join()


class _Worker:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed command
            python_command(
                "from chainledger.sigcheck import serve; serve(sys.stdin.buffer, sys.stdout.buffer)"
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def send(self, op: bytes, payload: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(_HEAD.pack(op[0], len(payload)))
        self.proc.stdin.write(payload)
        self.proc.stdin.flush()

    def receive(self) -> bytes:
        assert self.proc.stdout is not None
        (n,) = _U32.unpack(_read_exactly(self.proc.stdout, 4))
        return _read_exactly(self.proc.stdout, n)

    def close(self) -> None:
        # Both pipes first: a worker blocked writing an answer nobody will read then
        # gets EPIPE and exits, instead of holding this up until the timeout.
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a pipe already broken
                    pipe.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
            self.proc.kill()
            self.proc.wait()


class SignatureChecker:
    """Checks batches of signatures; starts worker processes on the first large batch.

    One caller at a time (the sequencer's checker thread, or verify's main thread).
    Batches below ``inline_below``, and every batch with ``processes`` under 2, are
    checked in the calling thread. An Ed25519 check lets go of the interpreter lock
    (`cryptography` 50 and later), so other threads run meanwhile, but the Python
    around each check does not; the workers take that off this interpreter, for the
    price of a pipe round trip per batch. A served ledger's sequencer (a process of its
    own, small batches) checks inline: 6 % less CPU per counter read than with two
    workers (docs/profile.md section 10.5); verify and bulk appends use the workers.
    """

    def __init__(self, processes: int | None = None, *, inline_below: int = 8) -> None:
        self.processes = processes if processes is not None else (os.cpu_count() or 2)
        self.inline_below = inline_below
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def check(self, jobs: Sequence[Job]) -> list[bool]:
        return self._run(jobs, pack=False)[0]

    def check_and_pack(self, jobs: Sequence[Job]) -> tuple[list[bool], list[bytes]]:
        """`check`, and each message packed for storage (`entry_codec.pack_statement`),
        the packing done by the workers too when the batch goes to them."""
        return self._run(jobs, pack=True)

    def _run(self, jobs: Sequence[Job], *, pack: bool) -> tuple[list[bool], list[bytes]]:
        if len(jobs) < self.inline_below or self.processes < 2:
            return check_all(jobs), _pack_all(jobs) if pack else []
        well_formed = [len(pub) == 32 and len(sig) == 64 for pub, sig, _ in jobs]
        if not all(well_formed):  # only well-formed jobs travel; the others fail here
            good = [j for j, ok in zip(jobs, well_formed, strict=True) if ok]
            checked = iter(self._run(good, pack=False)[0])
            mixed = [ok and next(checked) for ok in well_formed]
            return mixed, _pack_all(jobs) if pack else []
        with self._lock:
            try:
                if not self._workers:
                    self._workers = [_Worker() for _ in range(self.processes)]
                size = -(-len(jobs) // len(self._workers))
                chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
                op = OP_PACK if pack else OP_CHECK
                for worker, chunk in zip(self._workers, chunks, strict=False):
                    worker.send(op, frame_jobs(chunk))
                verdicts: list[bool] = []
                packed: list[bytes] = []
                for worker, chunk in zip(self._workers, chunks, strict=False):
                    answer = worker.receive()
                    n = len(chunk)
                    verdicts += [b == 1 for b in answer[:n]]
                    off = n
                    for _ in range(n if pack else 0):
                        (m,) = _U32.unpack_from(answer, off)
                        packed.append(answer[off + 4 : off + 4 + m])
                        off += 4 + m
                return verdicts, packed
            except (OSError, EOFError, struct.error):
                # A worker died: start afresh next time, and check this batch here.
                self._close_workers()
                return check_all(jobs), _pack_all(jobs) if pack else []

    def _close_workers(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            w.close()

    def close(self) -> None:
        with self._lock:
            self._close_workers()


def _pack_all(jobs: Sequence[Job]) -> list[bytes]:
    from chainledger.store.entry_codec import pack_statement

    return [pack_statement(msg) for _, _, msg in jobs]


class _Inline:
    """A worker's requests handled in this process (small ledgers, one core)."""

    def __init__(self) -> None:
        self.answers: deque[bytes] = deque()

    def send(self, op: bytes, payload: bytes) -> None:
        self.answers.append(_handle(op, payload))

    def receive(self) -> bytes:
        return self.answers.popleft()

    def close(self) -> None:
        self.answers.clear()


class Ticket:
    """The answer to one request, read from its worker's pipe in order."""

    __slots__ = ("answer", "channel")

    def __init__(self, channel: _Channel) -> None:
        self.channel = channel
        self.answer: bytes | None = None

    @property
    def done(self) -> bool:
        return self.answer is not None

    def result(self) -> bytes:
        while self.answer is None:
            self.channel.receive_next()
        return self.answer


class _Channel:
    """Requests to one worker and their answers, first in first out."""

    def __init__(self, worker: _Worker | _Inline) -> None:
        self.worker = worker
        self.waiting: deque[Ticket] = deque()

    def send(self, op: bytes, payload: bytes) -> Ticket:
        ticket = Ticket(self)
        self.waiting.append(ticket)
        self.worker.send(op, payload)
        return ticket

    def receive_next(self) -> None:
        ticket = self.waiting.popleft()
        ticket.answer = self.worker.receive()


class SignaturePool:
    """Worker processes for `chainledger.verify` (or the same work inline, below 2).

    Each request goes to a chosen worker and gets a `Ticket`; answers are read in
    the order each worker received its requests, so a caller can keep several
    batches in flight. A worker that dies raises `EOFError` or `OSError` from
    `Ticket.result`.
    """

    def __init__(self, processes: int) -> None:
        workers: list[_Worker | _Inline] = (
            [_Worker() for _ in range(processes)] if processes >= 2 else [_Inline()]
        )
        self.channels = [_Channel(w) for w in workers]

    def __len__(self) -> int:
        return len(self.channels)

    def send(self, worker: int, op: bytes, payload: bytes) -> Ticket:
        return self.channels[worker].send(op, payload)

    def close(self) -> None:
        for c in self.channels:
            c.worker.close()


if __name__ == "__main__":  # pragma: no cover - exercised through SignatureChecker
    serve(sys.stdin.buffer, sys.stdout.buffer)
