package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/parleychat/parley/bench"
)

// TestBenchDM runs `parley bench dm` both ways (sends on the WebSocket and
// by POST) across a two-node cluster: every accepted message arrives once.
func TestBenchDM(t *testing.T) {
	nodes := testCluster(t, 2)
	urls := "http://" + nodes[0].addr + ",http://" + nodes[1].addr
	for _, via := range []string{"ws", "http"} {
		t.Run(via, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := bench.Command([]string{"dm", "--url", urls, "--pairs", "4", "--rate", "200", "--duration", "2s",
				"--warmup", "500ms", "--via", via, "--json"}, &out, &errOut)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			var r struct {
				Via                                    string
				Sent, Accepted, Received, Lost, Errors int64
				Duplicated                             int64
			}
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if r.Via != via || r.Sent < 300 || r.Accepted != r.Sent || r.Received != r.Sent || r.Lost != 0 || r.Duplicated != 0 || r.Errors != 0 {
				t.Fatalf("bench dm --via %s: %+v", via, r)
			}
		})
	}
	var out, errOut bytes.Buffer
	if err := bench.Command([]string{"dm", "--url", urls, "--via", "carrier-pigeon"}, &out, &errOut); err == nil {
		t.Fatal("an unknown --via was accepted")
	}
}
