"""A stateful Hypothesis model of the ledger.

The model is a plain list of the notes that should be on the ledger. After
every step: the hash chain links, the tree matches a naive root over the
entries, every checkpoint ever seen is consistent with every later one, and
every receipt ever handed out still verifies (against its own checkpoint, and
via a consistency proof against the latest).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chainledger import merkle
from chainledger.checkpoint import verify_checkpoint
from chainledger.entry import GENESIS_PREV, decode_entry
from chainledger.errors import Replay
from chainledger.ledger import Ledger
from chainledger.receipt import Receipt
from chainledger.statement import SignedStatement
from chainledger.verify import verify_ledger

texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)  # the data model's text: no lone surrogates, no U+0000


class LedgerModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="chainledger-model-"))
        self.ledger = Ledger.init(self.dir / "m.db")
        self.notes: list[str] = []
        self.receipts: list[Receipt] = []
        self.checkpoints: list[str] = [self.ledger.checkpoint()]
        self.signed: list[SignedStatement] = []

    def teardown(self) -> None:
        try:
            verify_ledger(self.ledger.store)
        finally:
            self.ledger.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    @rule(text=texts)
    def append_one(self, text: str) -> None:
        stmt = self.ledger.platform_statement("note", text=text)
        self.receipts.append(self.ledger.append(stmt))
        self.signed.append(stmt)
        self.notes.append(text)

    @rule(batch=st.lists(texts, min_size=2, max_size=12))
    def append_concurrently(self, batch: list[str]) -> None:
        stmts = [self.ledger.platform_statement("note", text=t) for t in batch]
        futures = [self.ledger.submit(s) for s in stmts]
        got = [f.result() for f in futures]
        # submission order is sequence order
        assert [r.seq for r in got] == sorted(r.seq for r in got)
        self.receipts.extend(got)
        self.signed.extend(stmts)
        self.notes.extend(batch)

    @precondition(lambda self: bool(self.signed))
    @rule(data=st.data())
    def replay_is_refused(self, data: st.DataObject) -> None:
        stmt = data.draw(st.sampled_from(self.signed))
        size = self.ledger.size()
        try:
            self.ledger.append(stmt)
        except Replay:
            pass
        else:
            raise AssertionError("a replayed statement was appended")
        assert self.ledger.size() == size

    @rule()
    def observe_checkpoint(self) -> None:
        self.checkpoints.append(self.ledger.checkpoint())

    @invariant()
    def chain_links_and_notes_match(self) -> None:
        prev = GENESIS_PREV
        seen: list[str] = []
        for seq, data in self.ledger.entries():
            entry = decode_entry(data)
            assert entry.seq == seq
            assert entry.prev == prev
            prev = self.ledger.suite.leaf(data).hex()
            if entry.kind == "note":
                seen.append(entry.statement.stmt["text"])
        assert seen == self.notes
        assert self.ledger.size() == len(self.notes) + 1

    @invariant()
    def tree_matches_naive_root(self) -> None:
        leaves = [self.ledger.suite.leaf(d) for _, d in self.ledger.entries()]
        latest = verify_checkpoint(self.ledger.checkpoint(), self.ledger.vkey)
        assert latest.size == len(leaves)
        assert latest.root == merkle.root(leaves)

    @invariant()
    def old_checkpoints_stay_consistent(self) -> None:
        vkey = self.ledger.vkey
        parsed = [verify_checkpoint(c, vkey) for c in self.checkpoints]
        parsed.append(verify_checkpoint(self.ledger.checkpoint(), vkey))
        for i, old in enumerate(parsed):
            for new in parsed[i:]:
                proof = self.ledger.consistency_proof(old.size, new.size)
                proof.verify(old.root, new.root)

    @invariant()
    def receipts_verify(self) -> None:
        latest = verify_checkpoint(self.ledger.checkpoint(), self.ledger.vkey)
        for receipt in self.receipts:
            entry, cp = receipt.verify([self.ledger.verifier], origin=self.ledger.origin)
            assert self.ledger.entry(entry.seq) == receipt.entry
            self.ledger.consistency_proof(cp.size, latest.size).verify(cp.root, latest.root)


LedgerModel.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerModel = LedgerModel.TestCase
