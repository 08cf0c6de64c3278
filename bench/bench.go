// Package bench is `parley bench`: a load generator against one or more
// running Parley nodes, speaking only the public protocol, and a pgbench
// run of the message-send transaction shape (the machine's ceiling for
// persisted messages).
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

const benchUsage = `Usage: parley bench WORKLOAD [flags]

Workloads:
  dm       P pairs chat in direct conversations at a total rate R for D
           (--via ws sends on the WebSocket, --via http by POST, as bots do)
  fanout   one group channel with N connected members, R messages/s for D
  idle     C connections held open; reports server memory per connection
  pg       pgbench with the send transaction's shape: the ceiling (tps)

The target must allow the load: run it with PARLEY_SEND_RATE=0 and
PARLEY_SIGNUP_RATE=0. Several --url values spread connections across nodes.
`

type benchConfig struct {
	urls      []string
	pairs     int
	rate      float64
	duration  time.Duration
	members   int
	senders   int
	conns     int
	ramp      bool
	p99Target time.Duration
	jsonOut   bool
	dbURL     string
	dataDir   string
	pgClients int
	warmup    time.Duration
	hold      time.Duration
	debugURLs []string
	via       string
}

// Command runs `parley bench WORKLOAD [flags]`.
func Command(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("name a workload")
	}
	workload := args[0]
	fs := flag.NewFlagSet("parley bench "+workload, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c benchConfig
	urls := fs.String("url", "http://127.0.0.1:8080", "Parley base URL(s), comma-separated")
	fs.IntVar(&c.pairs, "pairs", 50, "dm: number of pairs")
	fs.Float64Var(&c.rate, "rate", 500, "messages per second in total (open loop, paced)")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long to send and measure (per step with --ramp)")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "how long to send at the rate before measuring")
	fs.IntVar(&c.members, "members", 500, "fanout: connected members of the channel")
	fs.IntVar(&c.senders, "senders", 10, "fanout: members who send")
	fs.IntVar(&c.conns, "conns", 1000, "idle: connections to hold")
	fs.DurationVar(&c.hold, "hold", 3*time.Second, "idle: how long to hold them before measuring")
	debugURLs := fs.String("debug-url", "", "idle: the nodes' PARLEY_DEBUG_ADDR listeners (http://host:port, comma-separated), to collect garbage before each reading")
	fs.StringVar(&c.via, "via", "ws", "dm, fanout: send on the WebSocket (ws) or by POST /conversations/{id}/messages (http)")
	fs.BoolVar(&c.ramp, "ramp", false, "dm: raise the rate by half each step until p99 passes --p99 or a message is lost")
	fs.DurationVar(&c.p99Target, "p99", 50*time.Millisecond, "ramp: the p99 send-to-deliver target")
	fs.BoolVar(&c.jsonOut, "json", false, "print the results as JSON")
	fs.StringVar(&c.dbURL, "database-url", os.Getenv("PARLEY_DATABASE_URL"), "pg: the database (default: the embedded one in --data-dir)")
	fs.StringVar(&c.dataDir, "data-dir", envOr("PARLEY_DATA_DIR", "./parley-data"), "pg: data directory of a running embedded database")
	fs.IntVar(&c.pgClients, "clients", 8, "pg: concurrent pgbench clients")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if c.via != "ws" && c.via != "http" {
		return fmt.Errorf("--via is ws or http, not %q", c.via)
	}
	for _, u := range strings.Split(*debugURLs, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			c.debugURLs = append(c.debugURLs, u)
		}
	}
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			c.urls = append(c.urls, u)
		}
	}
	ctx := context.Background()
	switch workload {
	case "pg":
		res, err := benchPG(ctx, c, stderr)
		if err != nil {
			return err
		}
		return printResult(stdout, c.jsonOut, res)
	case "idle":
		res, err := benchIdle(ctx, c, stderr)
		if err != nil {
			return err
		}
		return printResult(stdout, c.jsonOut, res)
	case "dm", "fanout":
		if c.ramp && workload == "dm" {
			var steps []*benchResult
			for {
				res, err := benchChat(ctx, workload, c, stderr)
				if err != nil {
					return err
				}
				steps = append(steps, res)
				if !c.jsonOut {
					printResult(stdout, false, res)
				}
				if res.Lost > 0 || time.Duration(res.P99Ms*float64(time.Millisecond)) > c.p99Target || res.Errors > 0 {
					break
				}
				c.rate *= 1.5
			}
			if c.jsonOut {
				return json.NewEncoder(stdout).Encode(steps)
			}
			return nil
		}
		res, err := benchChat(ctx, workload, c, stderr)
		if err != nil {
			return err
		}
		return printResult(stdout, c.jsonOut, res)
	}
	fmt.Fprint(stderr, benchUsage)
	return fmt.Errorf("unknown workload %q", workload)
}

type benchResult struct {
	Workload       string         `json:"workload"`
	Nodes          int            `json:"nodes"`
	TargetRate     float64        `json:"target_rate,omitempty"`
	DurationS      float64        `json:"duration_s,omitempty"`
	Sent           int64          `json:"sent,omitempty"`
	Accepted       int64          `json:"accepted,omitempty"`
	Expected       int64          `json:"expected_deliveries,omitempty"`
	Received       int64          `json:"received,omitempty"`
	Lost           int64          `json:"lost"`
	Duplicated     int64          `json:"duplicated"`
	Throughput     float64        `json:"messages_per_s,omitempty"`
	Deliveries     float64        `json:"deliveries_per_s,omitempty"`
	P50Ms          float64        `json:"p50_ms,omitempty"`
	P90Ms          float64        `json:"p90_ms,omitempty"`
	P99Ms          float64        `json:"p99_ms,omitempty"`
	MaxMs          float64        `json:"max_ms,omitempty"`
	Errors         int64          `json:"errors"`
	ErrorsByStatus map[string]int `json:"errors_by_status,omitempty"`
	Connections    int            `json:"connections,omitempty"`
	BytesPerConn   float64        `json:"bytes_per_connection,omitempty"`
	RSSPerConn     float64        `json:"resident_bytes_per_connection,omitempty"`
	TPS            float64        `json:"tps,omitempty"`
	Via            string         `json:"via,omitempty"`
	Note           string         `json:"note,omitempty"`
}

func printResult(w io.Writer, asJSON bool, r *benchResult) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	switch r.Workload {
	case "pg":
		fmt.Fprintf(w, "pg ceiling: %.0f send transactions/s (%s)\n", r.TPS, r.Note)
	case "idle":
		fmt.Fprintf(w, "idle: %d connections on %d node(s), %.1f KiB per connection in use, %.1f KiB resident (%s)\n", r.Connections, r.Nodes, r.BytesPerConn/1024, r.RSSPerConn/1024, r.Note)
	default:
		fmt.Fprintf(w, "%s (sent by %s) at %.0f msg/s for %.0fs on %d node(s): sent %d, accepted %d, %.0f msg/s, %.0f deliveries/s\n",
			r.Workload, r.Via, r.TargetRate, r.DurationS, r.Nodes, r.Sent, r.Accepted, r.Throughput, r.Deliveries)
		fmt.Fprintf(w, "  deliveries %d of %d: lost %d, duplicated %d; latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; errors %d %v\n",
			r.Received, r.Expected, r.Lost, r.Duplicated, r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs, r.Errors, r.ErrorsByStatus)
	}
	return nil
}

// ---------- a tiny client ----------

var benchHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

type benchUser struct {
	id    int64
	token string
	base  string
}

func benchCall(base, token, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+"/api/v1"+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := benchHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return res.StatusCode, json.Unmarshal(b, out)
	}
	return res.StatusCode, nil
}

func runID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// makeUsers signs up n users, spread over the URLs, a few at a time.
func makeUsers(c benchConfig, prefix string, n int) ([]*benchUser, error) {
	users := make([]*benchUser, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			base := c.urls[i%len(c.urls)]
			var out struct {
				User  struct{ ID int64 }
				Token string
			}
			if _, err := benchCall(base, "", "POST", "/auth/signup", map[string]string{
				"username": fmt.Sprintf("%s%d", prefix, i), "password": "bench password"}, &out); err != nil {
				errs <- err
				return
			}
			users[i] = &benchUser{id: out.User.ID, token: out.Token, base: base}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("creating users (is PARLEY_SIGNUP_RATE=0 on the target?): %w", err)
	}
	return users, nil
}

// benchConn is one WebSocket that records when each message arrives.
type benchConn struct {
	c    *websocket.Conn
	user *benchUser
}

type tracker struct {
	mu       sync.Mutex
	started  map[string]time.Time // client_id → send start
	arrivals map[string]int       // conn#client_id → count
	lat      []time.Duration
	received atomic.Int64
	dups     atomic.Int64
	accepted atomic.Int64
	errs     sync.Map // status → *atomic.Int64
	nerrs    atomic.Int64
}

func newTracker() *tracker {
	return &tracker{started: map[string]time.Time{}, arrivals: map[string]int{}}
}

func (t *tracker) fail(status string) {
	v, _ := t.errs.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	t.nerrs.Add(1)
}

func dialBench(ctx context.Context, u *benchUser, base string, tr *tracker, idx int) (*benchConn, error) {
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + u.token}}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	bc := &benchConn{c: c, user: u}
	hello := make(chan struct{})
	go func() {
		first := true
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				if first {
					close(hello)
				}
				return
			}
			if first {
				first = false
				close(hello)
				continue
			}
			if tr == nil || !bytes.Contains(b[:min(len(b), 40)], []byte(`"message.created"`)) && !bytes.Contains(b[:min(len(b), 40)], []byte(`"error"`)) {
				continue
			}
			var f struct {
				Type string
				Data struct {
					Message struct {
						SenderID int64  `json:"sender_id"`
						ClientID string `json:"client_id"`
					}
					Code     string
					ClientID string `json:"client_id"`
				}
			}
			if json.Unmarshal(b, &f) != nil {
				continue
			}
			now := time.Now()
			if f.Type == "error" {
				tr.fail("ws:" + f.Data.Code)
				continue
			}
			m := f.Data.Message
			tr.mu.Lock()
			start, ok := tr.started[m.ClientID]
			if !ok { // sent during the warm-up
				tr.mu.Unlock()
				continue
			}
			if m.SenderID == u.id {
				tr.mu.Unlock()
				tr.accepted.Add(1) // the sender's own confirmation
				continue
			}
			key := strconv.Itoa(idx) + "#" + m.ClientID
			tr.arrivals[key]++
			n := tr.arrivals[key]
			if n == 1 {
				tr.lat = append(tr.lat, now.Sub(start))
			}
			tr.mu.Unlock()
			if n == 1 {
				tr.received.Add(1)
			} else {
				tr.dups.Add(1)
			}
		}
	}()
	select {
	case <-hello:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return bc, nil
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return float64(sorted[max(i, 0)]) / float64(time.Millisecond)
}

// benchChat runs dm or fanout once at c.rate.
func benchChat(ctx context.Context, workload string, c benchConfig, stderr io.Writer) (*benchResult, error) {
	id := runID()
	tr := newTracker()
	type sender struct {
		conn *benchConn
		conv int64
	}
	var senders []sender
	var conns []*benchConn
	recipientsPerMsg := 1
	dial := func(u *benchUser, i int) (*benchConn, error) {
		return dialBench(ctx, u, c.urls[i%len(c.urls)], tr, i)
	}
	switch workload {
	case "dm":
		users, err := makeUsers(c, "b"+id+"d", 2*c.pairs)
		if err != nil {
			return nil, err
		}
		for p := range c.pairs {
			a, b := users[2*p], users[2*p+1]
			var out struct{ Conversation struct{ ID int64 } }
			if _, err := benchCall(a.base, a.token, "POST", "/direct", map[string]any{"user_id": b.id}, &out); err != nil {
				return nil, err
			}
			ca, err := dial(a, 2*p)
			if err != nil {
				return nil, err
			}
			cb, err := dial(b, 2*p+1)
			if err != nil {
				return nil, err
			}
			conns = append(conns, ca, cb)
			senders = append(senders, sender{ca, out.Conversation.ID}, sender{cb, out.Conversation.ID})
		}
	case "fanout":
		users, err := makeUsers(c, "b"+id+"f", c.members)
		if err != nil {
			return nil, err
		}
		owner := users[0]
		var g struct {
			Group struct {
				ID       int64
				Channels []struct{ ID int64 }
			}
		}
		if _, err := benchCall(owner.base, owner.token, "POST", "/groups", map[string]any{"name": "bench " + id}, &g); err != nil {
			return nil, err
		}
		// everyone at once, in requests of up to 500
		for rest := users[1:]; len(rest) > 0; {
			n := min(len(rest), 500)
			ids := make([]int64, n)
			for i, u := range rest[:n] {
				ids[i] = u.id
			}
			if _, err := benchCall(owner.base, owner.token, "POST", fmt.Sprintf("/groups/%d/members", g.Group.ID), map[string]any{"user_ids": ids}, nil); err != nil {
				return nil, err
			}
			rest = rest[n:]
		}
		for i, u := range users {
			bc, err := dial(u, i)
			if err != nil {
				return nil, err
			}
			conns = append(conns, bc)
			if i < c.senders {
				senders = append(senders, sender{bc, g.Group.Channels[0].ID})
			}
		}
		recipientsPerMsg = c.members - 1
	}
	defer func() {
		for _, bc := range conns {
			bc.c.CloseNow()
		}
	}()

	// open loop: send on schedule, whatever the answers; the first
	// c.warmup is not measured
	interval := time.Duration(float64(time.Second) / c.rate)
	begin := time.Now()
	start := begin.Add(c.warmup)
	var sent, warm int64
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	next := begin
	var wg sync.WaitGroup
	inflight := make(chan struct{}, maxInflight)
	for time.Since(start) < c.duration {
		now := time.Now()
		if now.Before(next) {
			select {
			case <-progress.C:
				fmt.Fprintf(stderr, "\r[%4.0fs] sent %d  delivered %d  errors %d   ", time.Since(begin).Seconds(), sent+warm, tr.received.Load(), tr.nerrs.Load())
			case <-time.After(next.Sub(now)):
			}
			continue
		}
		measured := !time.Now().Before(start)
		s := senders[int(sent+warm)%len(senders)]
		cid := fmt.Sprintf("%s-%d", id, sent+warm)
		body := "benchmark message " + cid
		if measured {
			tr.mu.Lock()
			tr.started[cid] = time.Now()
			tr.mu.Unlock()
		}
		if c.via == "http" {
			// the sender's socket still confirms it (message.created), as on ws
			select {
			case inflight <- struct{}{}:
				wg.Go(func() {
					defer func() { <-inflight }()
					status, err := benchCall(s.conn.user.base, s.conn.user.token, "POST", fmt.Sprintf("/conversations/%d/messages", s.conv),
						map[string]any{"client_id": cid, "body": body}, nil)
					if err != nil {
						tr.fail("http:" + strconv.Itoa(status))
					}
				})
			default:
				tr.fail("skipped") // more than maxInflight sends unanswered
			}
		} else {
			frame, _ := json.Marshal(map[string]any{"type": "message.send", "data": map[string]any{
				"conversation_id": s.conv, "client_id": cid, "body": body}})
			wg.Go(func() {
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if err := s.conn.c.Write(wctx, websocket.MessageText, frame); err != nil {
					tr.fail("ws-write")
				}
			})
		}
		if measured {
			sent++
		} else {
			warm++
		}
		next = next.Add(interval)
	}
	wg.Wait()
	elapsed := time.Since(start)
	expected := sent * int64(recipientsPerMsg)
	// let the tail arrive
	deadline := time.Now().Add(10 * time.Second)
	for tr.received.Load() < expected-tr.nerrs.Load()*int64(recipientsPerMsg) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	fmt.Fprintln(stderr)

	tr.mu.Lock()
	lat := append([]time.Duration(nil), tr.lat...)
	tr.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res := &benchResult{
		Workload: workload, Via: c.via, Nodes: len(c.urls), TargetRate: c.rate, DurationS: elapsed.Seconds(),
		Sent: sent, Accepted: tr.accepted.Load(), Expected: expected, Received: tr.received.Load(),
		Duplicated: tr.dups.Load(), Errors: tr.nerrs.Load(),
		Throughput: float64(tr.accepted.Load()) / elapsed.Seconds(),
		Deliveries: float64(tr.received.Load()) / elapsed.Seconds(),
		P50Ms:      percentile(lat, .50), P90Ms: percentile(lat, .90), P99Ms: percentile(lat, .99), MaxMs: percentile(lat, 1),
		ErrorsByStatus: map[string]int{},
	}
	// a message the server refused is not lost; one it accepted must arrive
	res.Lost = max(0, res.Accepted*int64(recipientsPerMsg)-res.Received)
	tr.errs.Range(func(k, v any) bool {
		res.ErrorsByStatus[k.(string)] = int(v.(*atomic.Int64).Load())
		return true
	})
	return res, nil
}

// maxInflight bounds the HTTP sends waiting for an answer; one due beyond
// it is counted as an error, not queued (an open loop stays open).
const maxInflight = 512

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
