// Independent check of a fedlookup audit export with golang.org/x/mod/sumdb/{note,tlog}:
// the checkpoint signature, the tree root, every inclusion proof, every hash tile, and
// (optionally) a proof printed by `fedlookup audit proof --json`.
//
//	go run verify_export.go EXPORT_DIR [PROOF_JSON]
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func must(err error) {
	if err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
}

func main() {
	dir := os.Args[1]
	var policy struct {
		LogVkey string `json:"log_vkey"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "policy.json"))
	must(err)
	must(json.Unmarshal(raw, &policy))
	v, err := note.NewVerifier(policy.LogVkey)
	must(err)
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	must(err)
	n, err := note.Open(msg, note.VerifierList(v))
	must(err)
	lines := strings.Split(n.Text, "\n")
	size, _ := strconv.ParseInt(lines[1], 10, 64)
	root, _ := base64.StdEncoding.DecodeString(lines[2])
	fmt.Printf("note.Open: signature by %s verifies; %d signature(s) not known to x/mod ignored\n", n.Sigs[0].Name, len(n.UnverifiedSigs))

	f, err := os.Open(filepath.Join(dir, "entries.jsonl"))
	must(err)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var stored []tlog.Hash
	var leaves []tlog.Hash
	var i int64
	for sc.Scan() {
		data := append([]byte(nil), sc.Bytes()...)
		leaves = append(leaves, tlog.RecordHash(data))
		hs, err := tlog.StoredHashes(i, data, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		must(err)
		stored = append(stored, hs...)
		i++
	}
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = stored[x]
		}
		return out, nil
	})
	th, err := tlog.TreeHash(size, hr)
	must(err)
	if !bytes.Equal(th[:], root) {
		must(fmt.Errorf("tree hash %x != checkpoint root %x", th, root))
	}
	fmt.Printf("tlog.TreeHash over %d entries equals the signed root\n", size)
	for k := int64(0); k < size; k++ {
		p, err := tlog.ProveRecord(size, k, hr)
		must(err)
		var rh tlog.Hash
		copy(rh[:], root)
		must(tlog.CheckRecord(p, size, rh, k, leaves[k]))
	}
	fmt.Printf("tlog.CheckRecord: %d inclusion proofs verify\n", size)
	// Our own proof output, checked by x/mod.
	if len(os.Args) > 2 {
		var pr struct {
			Index    int64    `json:"index"`
			TreeSize int64    `json:"tree_size"`
			LeafHash string   `json:"leaf_hash"`
			Root     string   `json:"root"`
			Proof    []string `json:"proof"`
		}
		raw, err := os.ReadFile(os.Args[2])
		must(err)
		must(json.Unmarshal(raw, &pr))
		var proof tlog.RecordProof
		for _, s := range pr.Proof {
			b, _ := base64.StdEncoding.DecodeString(s)
			var h tlog.Hash
			copy(h[:], b)
			proof = append(proof, h)
		}
		var rh, lh tlog.Hash
		b, _ := base64.StdEncoding.DecodeString(pr.Root)
		copy(rh[:], b)
		b, _ = base64.StdEncoding.DecodeString(pr.LeafHash)
		copy(lh[:], b)
		must(tlog.CheckRecord(proof, pr.TreeSize, rh, pr.Index, lh))
		fmt.Printf("fedlookup audit proof for index %d verifies with tlog.CheckRecord\n", pr.Index)
	}
	// Every tile x/mod computes for this size must equal our file at the C2SP path.
	count := 0
	for _, t := range tlog.NewTiles(8, 0, size) {
		span := int64(1) << (8 * uint(t.L))
		if t.W != 256 && int64(t.W) != (size/span)%256 {
			continue // x/mod lists every intermediate partial width
		}
		want, err := tlog.ReadTileData(t, hr)
		must(err)
		path := t.Path() // tile/8/L/N[.p/W]: C2SP drops the height element
		path = "tile/" + strings.SplitN(path, "/", 3)[2]
		got, err := os.ReadFile(filepath.Join(dir, path))
		must(err)
		if !bytes.Equal(got, want) {
			must(fmt.Errorf("tile %s differs", path))
		}
		count++
	}
	fmt.Printf("%d hash tiles equal what tlog.ReadTileData computes\n", count)
}
