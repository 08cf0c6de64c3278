package bench

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"
)

// benchIdle holds C connections and reads the server's memory before and
// after from /metrics.
func benchIdle(ctx context.Context, c benchConfig, stderr io.Writer) (*benchResult, error) {
	perUser := 10
	users, err := makeUsers(c, "b"+runID()+"i", (c.conns+perUser-1)/perUser)
	if err != nil {
		return nil, err
	}
	before, rssBefore := scrapeMemory(c)
	var conns []*benchConn
	defer func() {
		for _, bc := range conns {
			bc.c.CloseNow()
		}
	}()
	for i := range c.conns {
		u := users[i/perUser]
		bc, err := dialBench(ctx, u, c.urls[i%len(c.urls)], nil, i)
		if err != nil {
			return nil, fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, bc)
		if i%200 == 0 {
			fmt.Fprintf(stderr, "\r%d connections  ", i)
		}
	}
	fmt.Fprintln(stderr)
	time.Sleep(c.hold) // let the servers settle
	after, rssAfter := scrapeMemory(c)
	return &benchResult{Workload: "idle", Nodes: len(c.urls), Connections: c.conns,
		BytesPerConn: (after - before) / float64(c.conns),
		RSSPerConn:   (rssAfter - rssBefore) / float64(c.conns),
		Note: fmt.Sprintf("Go heap+stacks in use before %.1f MiB, after %.1f MiB; resident before %.1f MiB, after %.1f MiB; over all nodes%s",
			before/(1<<20), after/(1<<20), rssBefore/(1<<20), rssAfter/(1<<20),
			map[bool]string{true: "", false: "; without --debug-url the heap includes uncollected garbage"}[len(c.debugURLs) > 0])}, nil
}

var memLine = regexp.MustCompile(`(?m)^(go_memstats_heap_inuse_bytes|go_memstats_stack_inuse_bytes|process_resident_memory_bytes) ([0-9.e+]+)$`)

// scrapeMemory sums heap and stack in use, and the resident size, over the
// nodes' /metrics; with debug listeners it first has each node collect its
// garbage.
func scrapeMemory(c benchConfig) (inUse, resident float64) {
	for _, d := range c.debugURLs {
		if res, err := benchHTTP.Get(d + "/debug/pprof/heap?gc=1"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	for _, u := range c.urls {
		res, err := benchHTTP.Get(u + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, m := range memLine.FindAllStringSubmatch(string(b), -1) {
			v, _ := strconv.ParseFloat(m[2], 64)
			if m[1] == "process_resident_memory_bytes" {
				resident += v
			} else {
				inUse += v
			}
		}
	}
	return inUse, resident
}
