"""The Merkle tree of RFC 9162 section 2.1, as pure functions with 0-based indices.

leaf hash = H(0x00 || data), node hash = H(0x01 || left || right), empty root = H("").

Every proof in RFC 9162 is a list of Merkle tree hashes of *ranges* of leaves.
This module computes those ranges first (`inclusion_ranges`, `consistency_ranges`)
and their hashes second, from any source of complete-subtree hashes
(`range_hash`). The same code therefore serves a list of leaf hashes held in
memory and a store that keeps the interior nodes of complete subtrees, where a
proof reads O(log n) rows.

Verification (`verify_inclusion`, `verify_consistency`) follows the algorithms
of RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step; it returns None or raises:

* `InvalidChallenge` when the question itself has no answer (index >= size,
  size 0, first > second, first == 0): the caller's mistake, not an attack;
* an `InvalidProof` subclass when the proof does not prove what it claims.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from chainledger.crypto import SUITES, HashSuite
from chainledger.errors import InvalidChallenge, VerificationError

__all__ = [
    "HASH_SIZE",
    "InvalidProof",
    "MalformedHash",
    "NodeKey",
    "ProofLengthError",
    "RootMismatch",
    "consistency_proof",
    "consistency_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "proven_ranges",
    "range_hash",
    "range_node_keys",
    "root",
    "subtree_levels",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
_SHA256 = SUITES["sha256"]

#: (level, index): the complete subtree over leaves [index * 2**level, (index + 1) * 2**level).
NodeKey = tuple[int, int]
Range = tuple[int, int]


class InvalidProof(VerificationError):
    """The proof does not prove what it claims. Carries its evidence."""

    code = "invalid_proof"


class MalformedHash(InvalidProof):
    """A hash in the proof (or the leaf hash, or a root) is not 32 bytes long."""

    code = "malformed_hash"


class ProofLengthError(InvalidProof):
    """The proof has more or fewer hashes than the tree shape requires."""

    code = "proof_length"

    def __init__(self, got: int, expected: int) -> None:
        super().__init__(f"proof has {got} hashes; this tree shape needs {expected}")
        self.got = got
        self.expected = expected


class RootMismatch(InvalidProof):
    """The root recomputed from the proof differs from the expected root.

    ``which`` is "root" for inclusion, "first root" or "second root" for
    consistency; the error keeps both roots and the proof as evidence.
    """

    code = "root_mismatch"

    def __init__(self, which: str, expected: bytes, computed: bytes, proof: list[bytes]) -> None:
        super().__init__(
            f"{which} recomputed from the proof is {computed.hex()[:16]}..., "
            f"expected {expected.hex()[:16]}..."
        )
        self.which = which
        self.expected = expected
        self.computed = computed
        self.proof = proof


# --- hashing primitives ------------------------------------------------------------------------


def leaf_hash(data: bytes, *, suite: HashSuite = _SHA256) -> bytes:
    """RFC 9162 section 2.1.1: H(0x00 || data)."""
    return suite.leaf(data)


def node_hash(left: bytes, right: bytes, *, suite: HashSuite = _SHA256) -> bytes:
    """RFC 9162 section 2.1.1: H(0x01 || left || right)."""
    return suite.node(left, right)


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


# --- the shape of proofs: which ranges of leaves they hash --------------------------------------


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose hashes form PATH(index, D[size]) (RFC 9162 2.1.3.1), leaf first.

    Raises `InvalidChallenge` unless 0 <= index < size.
    """
    if size <= 0:
        raise InvalidChallenge(f"no inclusion proof in a tree of size {size}")
    if not 0 <= index < size:
        raise InvalidChallenge(f"leaf index {index} is not in a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            out.append((mid, hi))
            hi = mid
        else:
            out.append((lo, mid))
            lo = mid
    out.reverse()
    return out


def proven_ranges(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], *, suite: HashSuite = _SHA256
) -> list[tuple[Range, bytes]]:
    """Every range of leaves whose hash MTH(D[lo:hi]) leaf ``index``'s hash and its
    inclusion ``proof`` in a tree of ``size`` (RFC 9162 section 2.1.3.1's PATH, leaf
    first) give: the proof's own ranges (`inclusion_ranges`), the leaf's, and the
    ranges whose hashes `verify_inclusion` computes on its way up, the leaf's parent to
    the whole tree ``(0, size)``.

    Nothing is verified: the hashes are only as right as the proof. Raises
    `ProofLengthError` (or `MalformedHash`) if the proof is not one for ``index`` and
    ``size``.
    """
    siblings = inclusion_ranges(index, size)
    _check_proof(proof, len(siblings))
    lo, hi, acc = index, index + 1, bytes(leaf)
    out: list[tuple[Range, bytes]] = list(zip(siblings, proof, strict=True))
    out.append(((lo, hi), acc))
    for (slo, shi), h in zip(siblings, proof, strict=True):
        if slo == hi:  # the sibling is on the right
            acc, hi = suite.node(acc, h), shi
        else:
            acc, lo = suite.node(h, acc), slo
        out.append(((lo, hi), acc))
    return out


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The leaf ranges whose hashes form PROOF(first, D[second]) (RFC 9162 2.1.4.1).

    Raises `InvalidChallenge` unless 0 < first <= second. A proof from the empty
    tree is meaningless (every tree extends it), so first == 0 is refused too.
    """
    if first <= 0:
        raise InvalidChallenge(f"no consistency proof from a tree of size {first}")
    if first > second:
        raise InvalidChallenge(f"first size {first} is larger than second size {second}")
    out: list[Range] = []
    lo, hi = 0, second
    complete = True  # SUBPROOF's flag b: is [lo, first) the whole old tree so far?
    while first - lo < hi - lo:
        mid = lo + _split(hi - lo)
        if first <= mid:
            out.append((mid, hi))
            hi = mid
        else:
            out.append((lo, mid))
            lo = mid
            complete = False
    if not complete:
        out.append((lo, hi))
    out.reverse()
    return out


def _blocks(lo: int, hi: int) -> list[NodeKey]:
    """Split [lo, hi) into complete aligned subtrees, largest first.

    For the ranges RFC 9162 proofs use (lo aligned to a power of two >= hi - lo),
    this is exactly the recursive split of MTH, so folding the blocks from the
    right gives MTH(D[lo:hi]).
    """
    out: list[NodeKey] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo:
            level = min(level, (lo & -lo).bit_length() - 1)
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def range_node_keys(ranges: Iterable[Range]) -> set[NodeKey]:
    """Every complete-subtree node needed to hash ``ranges``: O(log n) per range."""
    keys: set[NodeKey] = set()
    for lo, hi in ranges:
        keys.update(_blocks(lo, hi))
    return keys


def range_hash(
    lo: int, hi: int, node: Callable[[int, int], bytes], *, suite: HashSuite = _SHA256
) -> bytes:
    """MTH(D[lo:hi]) from complete-subtree hashes ``node(level, index)``.

    The empty range hashes to H("") (RFC 9162 section 2.1.1).
    """
    if lo >= hi:
        return suite.empty()
    blocks = _blocks(lo, hi)
    acc = node(*blocks[-1])
    for key in reversed(blocks[:-1]):
        acc = suite.node(node(*key), acc)
    return acc


# --- proofs over a list of leaf hashes ---------------------------------------------------------


def subtree_levels(
    leaf_hashes: Sequence[bytes], *, suite: HashSuite = _SHA256
) -> list[list[bytes]]:
    """All complete-subtree hashes: ``levels[l][i]`` covers leaves [i * 2**l, (i + 1) * 2**l)."""
    levels: list[list[bytes]] = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([suite.node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def root(leaf_hashes: Sequence[bytes], *, suite: HashSuite = _SHA256) -> bytes:
    """MTH of the tree with these leaf hashes (RFC 9162 section 2.1.1)."""
    # A stack of complete subtrees (the tree's "frontier"), merged like a binary counter.
    stack: list[tuple[int, bytes]] = []
    for h in leaf_hashes:
        size, acc = 1, h
        while stack and stack[-1][0] == size:
            acc = suite.node(stack.pop()[1], acc)
            size *= 2
        stack.append((size, acc))
    if not stack:
        return suite.empty()
    acc = stack[-1][1]
    for _, h in reversed(stack[:-1]):
        acc = suite.node(h, acc)
    return acc


def _hashes(ranges: list[Range], leaf_hashes: Sequence[bytes], suite: HashSuite) -> list[bytes]:
    levels = subtree_levels(leaf_hashes, suite=suite)
    return [range_hash(lo, hi, lambda lv, i: levels[lv][i], suite=suite) for lo, hi in ranges]


def inclusion_proof(
    index: int, leaf_hashes: Sequence[bytes], *, suite: HashSuite = _SHA256
) -> list[bytes]:
    """PATH(index, D[n]) for the tree of these n leaf hashes (RFC 9162 2.1.3.1)."""
    return _hashes(inclusion_ranges(index, len(leaf_hashes)), leaf_hashes, suite)


def consistency_proof(
    first_size: int, leaf_hashes: Sequence[bytes], *, suite: HashSuite = _SHA256
) -> list[bytes]:
    """PROOF(first_size, D[n]) for the tree of these n leaf hashes (RFC 9162 2.1.4.1)."""
    return _hashes(consistency_ranges(first_size, len(leaf_hashes)), leaf_hashes, suite)


# --- verification ------------------------------------------------------------------------------


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        got = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise MalformedHash(f"{what} must be {HASH_SIZE} bytes, got {got}")


def _check_proof(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        raise ProofLengthError(len(proof), expected)
    for i, h in enumerate(proof):
        _check_hash(h, f"proof hash {i}")


def verify_inclusion(
    leaf_hash: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    root: bytes,
    *,
    suite: HashSuite = _SHA256,
) -> None:
    """Return None if ``proof`` shows leaf ``index`` of a tree of ``size`` has ``leaf_hash``.

    RFC 9162 section 2.1.3.2. Raises `InvalidChallenge` if index/size make no
    sense, `MalformedHash` for a hash of the wrong length, `ProofLengthError` for
    extra or missing hashes, `RootMismatch` when the proof leads elsewhere.
    """
    expected = len(inclusion_ranges(index, size))  # step 1: index < size, size > 0
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    _check_proof(proof, expected)
    fn, sn = index, size - 1  # step 2
    r = bytes(leaf_hash)  # step 3
    for p in proof:  # step 4
        if sn == 0:  # 4a: cannot happen after the length check; kept as in the RFC
            raise ProofLengthError(len(proof), expected)
        if fn & 1 or fn == sn:  # 4b
            r = suite.node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = suite.node(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    if sn != 0:  # step 5
        raise ProofLengthError(len(proof), expected)
    if r != root:
        raise RootMismatch("root", bytes(root), r, list(proof))


def verify_consistency(
    first_size: int,
    second_size: int,
    proof: Sequence[bytes],
    first_root: bytes,
    second_root: bytes,
    *,
    suite: HashSuite = _SHA256,
) -> None:
    """Return None if ``proof`` shows the tree of ``first_size`` is a prefix of ``second_size``.

    RFC 9162 section 2.1.4.2. Raises `InvalidChallenge` unless
    0 < first_size <= second_size; `MalformedHash`, `ProofLengthError` or
    `RootMismatch` (naming which root) when the proof does not hold. Equal sizes
    need an empty proof and equal roots.
    """
    expected = len(consistency_ranges(first_size, second_size))
    _check_hash(first_root, "first root")
    _check_hash(second_root, "second root")
    _check_proof(proof, expected)
    if first_size == second_size:
        if first_root != second_root:
            raise RootMismatch("second root", bytes(second_root), bytes(first_root), [])
        return
    path = list(proof)
    if first_size & (first_size - 1) == 0:  # step 2: first is an exact power of 2
        path.insert(0, bytes(first_root))
    fn, sn = first_size - 1, second_size - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            raise ProofLengthError(len(proof), expected)
        if fn & 1 or fn == sn:
            fr = suite.node(c, fr)
            sr = suite.node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = suite.node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # step 7
        raise ProofLengthError(len(proof), expected)
    if fr != first_root:
        raise RootMismatch("first root", bytes(first_root), fr, list(proof))
    if sr != second_root:
        raise RootMismatch("second root", bytes(second_root), sr, list(proof))
