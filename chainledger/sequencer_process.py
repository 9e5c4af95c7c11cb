"""The sequencer in a child process of its own, for a served ledger.

A `Sequencer` in the server's process shares that interpreter's lock with the event
loop: its writer and checker threads run Python between their SQLite calls, and every
time the event loop lets go of the lock (a query, a socket write) one of them may take
it, so a read waits for the writer's Python as well as for its own (docs/profile.md
section 9). `SequencerProcess` runs an ordinary `Sequencer` (same store, rules and
platform key, opened by `Ledger.open` there) in a child interpreter and talks to it over
two pipes, so that the served process's lock serves only parsing and answering.

The contract is `Sequencer`'s: `submit` returns a future that resolves to the receipt
only after the child's COMMIT has returned, or to the statement's own error (a `Refused`
with its record's receipt included). What crosses the pipes is pickled: statements and
attachments one way, receipts (with their inclusion proofs, computed in the child) and
errors the other. The child stops when its pipe closes: it drains what it was given
(commits or refuses every statement, as `Sequencer.close` does) and exits, so a server
killed outright leaves no sequencer behind. If the child dies, every statement still in
flight fails with `StoreUnavailable` (committed whole or not at all: a retry of the same
signed statement meets `Replay` if it was) and the next `submit` starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import IO, Any

from chainledger.child_process import python_command
from chainledger.errors import ChainledgerError, Overloaded, StoreUnavailable
from chainledger.location import Location
from chainledger.placement import run_on
from chainledger.proofs import InclusionProof
from chainledger.receipt import Receipt
from chainledger.rules import Rules
from chainledger.sequencer import Sequencing
from chainledger.sigcheck import _U32, _read_exactly
from chainledger.statement import SignedStatement

__all__ = ["ChildSpec", "SequencerProcess", "serve_child"]

log = logging.getLogger(__name__)

# A receipt on the pipe: seq, leaf hash, entry, checkpoint note, tree size, proof hashes.
_ReceiptParts = tuple[int, bytes, bytes, str, int, tuple[bytes, ...]]
_Waiting = Future[Receipt] | tuple[asyncio.AbstractEventLoop, asyncio.Future[Receipt]]


@dataclass(frozen=True)
class ChildSpec:
    """What the child needs to open the same ledger: ``rules`` is a picklable factory
    (a module-level function) of the rules the parent's ledger uses; ``cpus``, the CPUs
    it keeps to (`chainledger.placement`; None: wherever the parent may run)."""

    where: Location
    rules: Callable[[], Rules]
    skew: timedelta
    max_batch: int
    max_queue: int
    verify_processes: int | None
    cpus: frozenset[int] | None = None


@dataclass(frozen=True)
class _Stats:
    batches: int = 0
    appended: int = 0
    refused: int = 0
    queue_depth: int = 0
    unchecked: int = 0


def _frame(message: object) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _U32.pack(len(data)) + data


def _write(stream: IO[bytes], frame: bytes) -> None:
    stream.write(frame)
    stream.flush()


def _write_frame(stream: IO[bytes], message: object) -> None:
    _write(stream, _frame(message))


def _read_frame(stream: IO[bytes]) -> Any:
    (n,) = _U32.unpack(_read_exactly(stream, 4))
    # Pickle only between a process and its own child, over their private pipes.
    return pickle.loads(_read_exactly(stream, n))  # noqa: S301


def _receipt_parts(r: Receipt) -> _ReceiptParts:
    proof = r.inclusion  # a lazy receipt's proof is computed here, in the child
    return (r.seq, r.leaf_hash, r.entry, r.checkpoint, proof.tree_size, proof.hashes)


def _receipt(parts: _ReceiptParts) -> Receipt:
    seq, leaf, entry, note, size, hashes = parts
    return Receipt(seq, leaf, entry, note, InclusionProof(seq, size, hashes))


@dataclass(frozen=True)
class _ReceiptAttribute:
    """An error's receipt attribute on the pipe (a lazy receipt does not pickle)."""

    parts: _ReceiptParts


def _error_parts(exc: BaseException) -> tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]:
    """An exception as (class, args, attributes), receipts as parts: rebuilt by
    `_error` without calling the class's constructor, whose signature varies."""
    state = {  # compiled (mypyc), an exception class without attributes has no __dict__
        k: _ReceiptAttribute(_receipt_parts(v)) if isinstance(v, Receipt) else v
        for k, v in getattr(exc, "__dict__", {}).items()
    }
    parts = (type(exc), exc.args, state)
    try:
        pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an error we cannot send as it is: its class name only, no values
        return (RuntimeError, (f"the sequencer failed ({type(exc).__name__})",), {})
    return parts


def _error(parts: tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]) -> BaseException:
    cls, args, state = parts
    exc = cls.__new__(cls)
    exc.args = args
    for k, v in state.items():
        setattr(exc, k, _receipt(v.parts) if isinstance(v, _ReceiptAttribute) else v)
    return exc


class _Child:
    """One running child: its process and the parent's ends of its pipes."""

    def __init__(self, spec: ChildSpec) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed command
            python_command("from chainledger.sequencer_process import serve_child; serve_child()"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.to_child: IO[bytes] = self.proc.stdin
        self.from_child: IO[bytes] = self.proc.stdout
        try:
            _write_frame(self.to_child, spec)
            answer = _read_frame(self.from_child)
        except (OSError, EOFError, pickle.UnpicklingError):
            self.kill()
            raise StoreUnavailable() from None
        if answer[0] != "ready":
            self.kill()
            raise _error(answer[1])

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.ended()

    def ended(self) -> None:
        """Wait for the process (it has stopped, or is stopping) and close the pipes."""
        self.proc.wait()
        for pipe in (self.to_child, self.from_child):
            with contextlib.suppress(OSError):
                pipe.close()


class SequencerProcess(Sequencing):
    """`Sequencer`'s interface over a sequencer in a child process (see the module)."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.max_queue = spec.max_queue
        #: Called from the reader thread with each committed batch's entry count (metrics).
        self.on_commit: Callable[[int], None] | None = None
        self._lock = threading.Lock()
        # What is waiting for an answer: a thread's future, or a loop's future and its loop.
        self._pending: dict[int, _Waiting] = {}
        self._next_id = 0
        self._closing = False
        self._stats = _Stats()
        self._child: _Child | None = None
        self._reader: threading.Thread | None = None
        with self._lock:
            self._start()

    # --- the counters of `Sequencer`, as the child last reported them --------------------------

    @property
    def batches(self) -> int:
        return self._stats.batches

    @property
    def appended(self) -> int:
        return self._stats.appended

    @property
    def refused(self) -> int:
        return self._stats.refused

    def queue_depth(self) -> int:
        """Statements submitted and not yet taken into a batch (as the child last said)."""
        return self._stats.queue_depth

    def unchecked(self) -> int:
        return self._stats.unchecked

    # --- callers ------------------------------------------------------------------------------

    def submit(
        self,
        statement: SignedStatement,
        verified_key: bytes | None = None,
        attachment: Any = None,
    ) -> Future[Receipt]:
        """As `Sequencer.submit`. `Overloaded` when ``max_queue`` statements are in flight
        or the sequencer is closing; `StoreUnavailable` if the child cannot be started."""
        future: Future[Receipt] = Future()
        with self._lock:
            unsent = self._send(future, statement, verified_key, attachment)
        _fail(unsent)
        return future

    def submit_async(
        self,
        statement: SignedStatement,
        verified_key: bytes | None = None,
        attachment: Any = None,
    ) -> asyncio.Future[Receipt]:
        """`submit` for a caller on the running event loop (in its thread): the loop's own
        future, settled with the others of its answer frame by one callback (not one
        wake-up of the loop and one `concurrent.futures` chain per statement)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Receipt] = loop.create_future()
        with self._lock:
            unsent = self._send((loop, future), statement, verified_key, attachment)
        _fail(unsent)
        return future

    def _send(
        self, waiting: _Waiting, statement: SignedStatement, verified_key: bytes | None,
        attachment: Any,
    ) -> list[_Waiting]:  # fmt: skip
        """Write the statement to the child (the lock held); return who waits for it if it
        could not be written (to be failed once the lock is let go: a thread's future runs
        its callbacks as it is settled)."""
        if self._closing or len(self._pending) >= self.max_queue:
            raise Overloaded(retry_after=1.0)
        child = self._child if self._child is not None else self._start()
        ident = self._next_id
        # An attachment that cannot cross raises here, before anything waits for it.
        frame = _frame((ident, statement, verified_key, attachment))
        self._next_id += 1
        self._pending[ident] = waiting
        try:
            _write(child.to_child, frame)
        except (OSError, ValueError):  # the child is gone: its reader fails the others
            return [self._pending.pop(ident)]
        return []

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting; the child drains what it was given and exits."""
        with self._lock:
            self._closing = True
            child, reader = self._child, self._reader
            if child is not None:
                with contextlib.suppress(OSError, ValueError):
                    _write_frame(child.to_child, None)
                    child.to_child.close()
        if child is None:
            return
        if reader is not None:
            reader.join(timeout)
        try:
            child.proc.wait(timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck child
            child.kill()

    # --- the child and its answers ------------------------------------------------------------

    def _start(self) -> _Child:
        """Start a child (the lock held); `StoreUnavailable` or the child's own error
        (e.g. the platform key does not match) if it does not come up."""
        child = _Child(self.spec)
        self._child = child
        self._reader = threading.Thread(
            target=self._read, args=(child,), name="chainledger-sequencer-pipe", daemon=True
        )
        self._reader.start()
        return child

    def _read(self, child: _Child) -> None:
        try:
            while True:
                kind, results, commits, stats = _read_frame(child.from_child)
                self._stats = stats
                if self.on_commit is not None:
                    for n in commits:
                        self.on_commit(n)
                with self._lock:
                    answers = [(self._pending.pop(ident), ok, r) for ident, ok, r in results]
                _settle(answers)
                if kind == "closed":
                    child.ended()
                    break
        except (OSError, EOFError, pickle.UnpicklingError):
            log.error("the sequencer process stopped; statements in flight fail")
            child.kill()
        except Exception:  # a bug here must not leave callers waiting for ever
            log.exception("reading the sequencer process failed; statements in flight fail")
            child.kill()
        with self._lock:
            lost, self._pending = self._pending, {}
            if self._child is child:
                self._child = None
        _fail(list(lost.values()))


def _settle(answers: list[tuple[_Waiting, bool, Any]]) -> None:
    """Settle each future with its answer (receipt parts, or error parts): a thread's
    future here, a loop's futures by one callback per loop."""
    loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Receipt], Any]]] = {}
    for waiting, ok, parts in answers:
        outcome = _receipt(parts) if ok else _error(parts)
        if isinstance(waiting, Future):
            _set(waiting, outcome)
        else:
            loops.setdefault(waiting[0], []).append((waiting[1], outcome))
    for loop, settled in loops.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(_set_all, settled)


def _fail(waiting: list[_Waiting]) -> None:
    """Fail each with `StoreUnavailable`: its statement was committed whole or not at all."""
    if waiting:
        _settle([(w, False, _error_parts(StoreUnavailable())) for w in waiting])


def _set_all(settled: list[tuple[asyncio.Future[Receipt], Any]]) -> None:
    for future, outcome in settled:
        if not future.done():  # a cancelled request's future stays cancelled
            _set(future, outcome)


def _set(future: Future[Receipt] | asyncio.Future[Receipt], outcome: Any) -> None:
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


# --- the child ------------------------------------------------------------------------------


def serve_child() -> None:
    """The child's main: the spec on stdin, then statements; answers on stdout."""
    # The parent decides when this process stops (its pipe closes): a terminal's Ctrl-C
    # or a SIGTERM to the process group must not cut a batch short here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    inbox = sys.stdin.buffer
    outbox = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt a frame
    spec: ChildSpec = _read_frame(inbox)
    if spec.cpus is not None:
        run_on(spec.cpus)  # before any thread starts: they inherit it
    from chainledger.ledger import Ledger  # here: the ledger module imports this one

    try:
        ledger = Ledger.open(
            spec.where, rules=spec.rules(), skew=spec.skew, max_batch=spec.max_batch,
            max_queue=spec.max_queue, verify_processes=spec.verify_processes,
        )  # fmt: skip
        sequencer = ledger.sequencer
    except BaseException as exc:
        _write_frame(outbox, ("failed", _error_parts(exc)))
        return
    _write_frame(outbox, ("ready",))
    done: queue.SimpleQueue[Any] = queue.SimpleQueue()
    sequencer.on_commit = partial(_put, done, "commit")
    sender = threading.Thread(target=_send, args=(outbox, done, sequencer), name="answers")
    sender.start()
    try:
        while True:
            try:
                message = _read_frame(inbox)
            except (OSError, EOFError):
                break  # the parent is gone: drain and stop
            if message is None:
                break
            ident, statement, verified_key, attachment = message
            try:
                future = sequencer.submit(statement, verified_key, attachment)
            except ChainledgerError as exc:  # Overloaded
                done.put(("error", ident, exc))
                continue
            future.add_done_callback(partial(_put, done, "future", ident))
    finally:
        ledger.close()  # every future resolves (its answer is queued) before this returns
        done.put(None)
        sender.join()


def _put(done: queue.SimpleQueue[Any], *item: Any) -> None:
    done.put(item)


def _answer(item: tuple[Any, ...]) -> tuple[int, bool, Any]:
    """One statement's answer for the pipe: its receipt's parts, or its error's."""
    _, ident, outcome = item
    try:
        exc = outcome if isinstance(outcome, BaseException) else outcome.exception()
        if exc is None:
            return ident, True, _receipt_parts(outcome.result())
    except Exception as failed:  # e.g. the receipt's proof could not be computed
        exc = failed
    return ident, False, _error_parts(exc)


def _send(outbox: IO[bytes], done: queue.SimpleQueue[Any], sequencer: Any) -> None:
    """Send the answers as they come, all that are ready in one frame."""
    broken = False
    while True:
        items = [done.get()]
        with contextlib.suppress(queue.Empty):
            while True:
                items.append(done.get_nowait())
        results: list[tuple[int, bool, Any]] = []
        commits: list[int] = []
        last = False
        for item in items:
            if item is None:
                last = True
            elif item[0] == "commit":
                commits.append(item[1])
            else:
                results.append(_answer(item))
        stats = _Stats(
            sequencer.batches, sequencer.appended, sequencer.refused,
            sequencer.queue_depth(), sequencer.unchecked(),
        )  # fmt: skip
        if not broken:
            try:
                _write_frame(outbox, ("closed" if last else "results", results, commits, stats))
            except OSError:  # the parent is gone; keep draining, nobody to tell
                broken = True
        if last:
            return
