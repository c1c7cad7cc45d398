"""RFC 6962 tree hashing and proofs: the RFC example tree, the shared vectors, and
generate-then-verify over many sizes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
)
from fedlookup.errors import ConsistencyError, VerificationError

# The example tree of RFC 6962's reference tests (certificate-transparency merkle_tree_test).
LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

VECTORS = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "tlog-vectors"


def test_empty_tree_root_is_hash_of_empty_string() -> None:
    assert MerkleTree().root().hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert MerkleTree().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc6962_example_roots(size: int) -> None:
    tree = MerkleTree(hash_leaf(leaf) for leaf in LEAVES[:size])
    assert tree.root().hex() == ROOTS[size - 1]


def test_roots_of_earlier_sizes_from_a_larger_tree() -> None:
    tree = MerkleTree(hash_leaf(leaf) for leaf in LEAVES)
    assert [tree.root(n).hex() for n in range(1, 9)] == ROOTS


def test_generated_proofs_verify_for_every_index_and_size_pair() -> None:
    tree = MerkleTree(hash_leaf(i.to_bytes(4, "big")) for i in range(70))
    for size in range(1, 71):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            verify_inclusion(tree.leaf_hash(index), index, size, proof, root)
        for size1 in range(1, size + 1):
            proof = tree.consistency_proof(size1, size)
            verify_consistency(size1, size, proof, tree.root(size1), root)


def test_wrong_leaf_and_wrong_old_root_are_refused() -> None:
    tree = MerkleTree(hash_leaf(leaf) for leaf in LEAVES)
    proof = tree.inclusion_proof(3, 8)
    with pytest.raises(VerificationError):
        verify_inclusion(tree.leaf_hash(4), 3, 8, proof, tree.root())
    with pytest.raises(ConsistencyError):
        verify_consistency(3, 8, tree.consistency_proof(3, 8), tree.root(4), tree.root())


def _vector_files(kind: str) -> list[Path]:
    if not VECTORS.is_dir():
        return []
    dirs = [d for d in sorted((VECTORS / kind).iterdir()) if d.is_dir()]
    return [f for d in dirs for f in sorted(d.glob("*.json"))]


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"shared tlog vectors not present at {VECTORS}"
)


@needs_vectors
@pytest.mark.parametrize("path", _vector_files("inclusion"), ids=_case_id)
def test_inclusion_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@needs_vectors
@pytest.mark.parametrize("path", _vector_files("consistency"), ids=_case_id)
def test_consistency_vectors(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(ConsistencyError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


@needs_vectors
def test_vector_happy_paths_are_what_this_tree_generates() -> None:
    """Our generator produces exactly the published proofs (same leaves as the RFC tree)."""
    tree = MerkleTree(hash_leaf(leaf) for leaf in LEAVES)
    checked = 0
    for path in _vector_files("consistency"):
        case = json.loads(path.read_text())
        if path.stem == "happy-path" and case["size2"] <= 8 and case["size1"] > 0:
            proof = tree.consistency_proof(case["size1"], case["size2"])
            assert proof == [_b64(p) for p in case["proof"] or []]
            checked += 1
    for path in _vector_files("inclusion"):
        case = json.loads(path.read_text())
        if path.stem == "happy-path" and case["treeSize"] <= 8:
            proof = tree.inclusion_proof(case["leafIdx"], case["treeSize"])
            assert proof == [_b64(p) for p in case["proof"] or []]
            checked += 1
    assert checked > 0
