"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

Hashes are SHA-256; a leaf hashes as ``SHA-256(0x00 || data)`` and an interior node as
``SHA-256(0x01 || left || right)``. Proof generation follows RFC 6962 section 2.1.1 (PATH) and
2.1.2 (SUBPROOF); verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 exactly, so proofs
produced here verify in any other implementation and vice versa.

:class:`MerkleTree` keeps every perfect subtree hash, level by level: an append costs
O(log n) hashes and any root or proof costs O(log^2 n) lookups, never a pass over the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from fedlookup.errors import ConsistencyError, VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "hash_children",
    "hash_leaf",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (RFC 6962 section 2.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def hash_leaf(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 6962 tree over leaf hashes, with proofs for any earlier size.

    ``levels[l][i]`` is the hash of the perfect subtree of ``2**l`` leaves starting at leaf
    ``i * 2**l``. Memory is about two hashes per leaf.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaf_hashes:
            self.append_hash(leaf)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def append_hash(self, leaf_hash: bytes) -> int:
        """Append one leaf hash; return its index."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError("leaf hash must be 32 bytes")
        index = self.size
        self._levels[0].append(leaf_hash)
        level, node = 0, leaf_hash
        while len(self._levels[level]) % 2 == 0:
            left = self._levels[level][-2]
            node = hash_children(left, node)
            level += 1
            if len(self._levels) == level:
                self._levels.append([])
            self._levels[level].append(node)
        return index

    def level(self, height: int) -> list[bytes]:
        """Hashes of the perfect subtrees of ``2**height`` leaves, left to right."""
        return list(self._levels[height]) if height < len(self._levels) else []

    def leaf_hash(self, index: int) -> bytes:
        """Return the leaf hash at ``index``."""
        return self._levels[0][index]

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)``; ``start`` is aligned as RFC 6962 recursion makes it."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            return self._levels[level][start >> level]
        k = _split(n)
        return hash_children(self._range_hash(start, start + k), self._range_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """Return MTH of the first ``size`` leaves (default: all)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} outside the tree (0..{self.size})")
        return EMPTY_ROOT if size == 0 else self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return PATH(index, D[:size]) (RFC 6962 section 2.1.1)."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no inclusion proof for index {index} in size {size}")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, start + k), self._range_hash(start + k, end)]
        return [*self._path(m - k, start + k, end), self._range_hash(start, start + k)]

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return PROOF(size1, D[:size2]) (RFC 6962 section 2.1.2); empty when sizes match."""
        size2 = self.size if size2 is None else size2
        if not 0 < size1 <= size2 <= self.size:
            raise ValueError(f"no consistency proof from {size1} to {size2}")
        if size1 == size2:
            return []
        return self._subproof(size1, 0, size2, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._range_hash(start, end)]
        k = _split(n)
        if m <= k:
            return [
                *self._subproof(m, start, start + k, complete),
                self._range_hash(start + k, end),
            ]
        return [*self._subproof(m - k, start + k, end, False), self._range_hash(start, start + k)]


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over ``leaf_hashes`` (convenience for verifiers)."""
    return MerkleTree(leaf_hashes).root()


def _check_hash(value: bytes, what: str, error: type[Exception]) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Verify an inclusion proof (RFC 9162 section 2.1.3.2).

    Raises:
        VerificationError: the proof does not show ``leaf_hash`` at ``index`` under ``root``.
    """
    _check_hash(leaf_hash, "leaf hash", VerificationError)
    _check_hash(root, "root hash", VerificationError)
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} outside tree of size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        _check_hash(p, "proof hash", VerificationError)
        if sn == 0:
            raise VerificationError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is too short")
    if r != root:
        raise VerificationError("inclusion proof does not lead to the root hash")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Verify a consistency proof between two tree heads (RFC 9162 section 2.1.4.2).

    A size-0 first tree is rejected: it proves nothing, and callers treat it explicitly.

    Raises:
        ConsistencyError: the two heads do not describe one append-only history.
    """
    if size1 <= 0 or size1 > size2:
        raise ConsistencyError(f"no consistency between sizes {size1} and {size2}")
    if size1 == size2:
        if proof:
            raise ConsistencyError("sizes are equal but the proof is not empty")
        if root1 != root2:
            raise ConsistencyError(f"two different roots for tree size {size1}")
        return
    _check_hash(root1, "first root", ConsistencyError)
    _check_hash(root2, "second root", ConsistencyError)
    if not proof:
        raise ConsistencyError("empty consistency proof")
    for p in proof:
        _check_hash(p, "proof hash", ConsistencyError)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyError("consistency proof is too short")
    if fr != root1:
        raise ConsistencyError(f"consistency proof does not lead to the root of size {size1}")
    if sr != root2:
        raise ConsistencyError(f"consistency proof does not lead to the root of size {size2}")
