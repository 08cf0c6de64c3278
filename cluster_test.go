package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/store/storetest"
)

// TestMain lets the test binary run as a real parley node: the process-level
// tests start it with PARLEY_TEST_SERVE=1 and the PARLEY_* configuration.
func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_TEST_SERVE") == "1" {
		os.Exit(cli([]string{"serve"}, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func envOrDefault(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// node is a parley process of a test cluster.
type node struct {
	name, addr string
	cmd        *exec.Cmd
	log        *bytes.Buffer
}

// testCluster starts n parley processes sharing one database, one exchange
// and one memcached key space.
func testCluster(t *testing.T, n int, extra ...string) []*node {
	t.Helper()
	dbURL := storetest.URL(t)
	exchange := "parley.test." + randomHex(6)
	prefix := "parley:test:" + randomHex(4) + ":"
	var nodes []*node
	for i := range n {
		nd := &node{name: fmt.Sprintf("node%d", i+1), addr: freeAddr(t), log: &bytes.Buffer{}}
		nd.cmd = exec.Command(os.Args[0], "-test.run=^$")
		nd.cmd.Env = append(os.Environ(),
			"PARLEY_TEST_SERVE=1",
			"PARLEY_ADDR="+nd.addr,
			"PARLEY_NODE_ID="+nd.name,
			"PARLEY_DATABASE_URL="+dbURL,
			"PARLEY_AMQP_URL="+envOrDefault("PARLEY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
			"PARLEY_AMQP_EXCHANGE="+exchange,
			"PARLEY_MEMCACHED="+envOrDefault("PARLEY_TEST_MEMCACHED", "127.0.0.1:11211"),
			"PARLEY_MEMCACHED_PREFIX="+prefix,
			"PARLEY_SEND_RATE=0",
			"PARLEY_SIGNUP_RATE=0",
			"PARLEY_LOG_FORMAT=json",
			"PARLEY_LOG_LEVEL=warn",
		)
		nd.cmd.Env = append(nd.cmd.Env, extra...)
		nd.cmd.Stdout, nd.cmd.Stderr = nd.log, nd.log
		if err := nd.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if nd.cmd.ProcessState == nil {
				nd.cmd.Process.Signal(syscall.SIGTERM)
				done := make(chan struct{})
				go func() { nd.cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					nd.cmd.Process.Kill()
				}
			}
			if t.Failed() {
				t.Logf("%s log:\n%s", nd.name, nd.log.String())
			}
		})
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		waitHealthy(t, "http://"+nd.addr)
	}
	return nodes
}

func waitHealthy(t *testing.T, base string) { waitFor(t, base+"/readyz") }

// waitFor waits until url answers 200.
func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// api is a tiny bearer client.
type api struct {
	t     *testing.T
	base  string
	token string
	id    int64
}

func (a *api) call(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return res.StatusCode, nil
}

func (a *api) must(want int, method, path string, body, out any) {
	a.t.Helper()
	status, err := a.call(method, path, body, out)
	if err != nil || status != want {
		a.t.Fatalf("%s %s: %d %v, want %d", method, path, status, err, want)
	}
}

func signupAt(t *testing.T, base, name string) *api {
	a := &api{t: t, base: base}
	var out struct {
		User  struct{ ID int64 }
		Token string
	}
	a.must(201, "POST", "/api/v1/auth/signup", map[string]string{"username": name, "password": "a good password"}, &out)
	a.token, a.id = out.Token, out.User.ID
	return a
}

func (a *api) at(base string) *api { c := *a; c.base = base; return &c }

// socket is a WebSocket that records message.created seqs.
type socket struct {
	mu   sync.Mutex
	seqs map[int64]int
	done chan struct{}
	c    *websocket.Conn
}

func dialSocket(t *testing.T, base, token string) *socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial %s: %v", base, err)
	}
	s := &socket{seqs: map[int64]int{}, done: make(chan struct{}), c: c}
	hello := make(chan struct{})
	go func() {
		defer close(s.done)
		first := true
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var f struct {
				Type string
				Data struct{ Message struct{ Seq int64 } }
			}
			_ = json.Unmarshal(b, &f)
			if first && f.Type == "hello" {
				first = false
				close(hello)
			}
			if f.Type == "message.created" {
				s.mu.Lock()
				s.seqs[f.Data.Message.Seq]++
				s.mu.Unlock()
			}
		}
	}()
	select {
	case <-hello:
	case <-time.After(10 * time.Second):
		t.Fatal("no hello")
	}
	t.Cleanup(func() { c.CloseNow() })
	return s
}

// waitSeqs waits until the socket has seen seqs first..last, and checks each
// arrived exactly once.
func (s *socket) waitSeqs(t *testing.T, first, last int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		n := 0
		for seq := first; seq <= last; seq++ {
			if s.seqs[seq] > 0 {
				n++
			}
		}
		dups := []int64{}
		for seq, c := range s.seqs {
			if c > 1 {
				dups = append(dups, seq)
			}
		}
		s.mu.Unlock()
		if len(dups) > 0 {
			t.Fatalf("seqs delivered twice on one connection: %v", dups)
		}
		if n == int(last-first+1) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket saw %d of %d messages", n, last-first+1)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNodeKilledDuringBurst: a node is killed with SIGKILL in the middle of
// a send burst. Its client retries on the other node with the same
// client_id, and the peer ends with every message once: 0 lost, 0 duplicated.
func TestNodeKilledDuringBurst(t *testing.T) {
	nodes := testCluster(t, 2)
	a, b := "http://"+nodes[0].addr, "http://"+nodes[1].addr
	alice := signupAt(t, a, "alice")
	bob := signupAt(t, b, "bob")
	var conv struct{ Conversation struct{ ID int64 } }
	alice.must(200, "POST", "/api/v1/direct", map[string]any{"user_id": bob.id}, &conv)
	id := conv.Conversation.ID
	bobSocket := dialSocket(t, b, bob.token)
	dialSocket(t, a, alice.token) // alice's socket dies with node 1

	const total = 300
	retried := 0
	for i := range total {
		if i == 100 {
			nodes[0].cmd.Process.Signal(syscall.SIGKILL)
			nodes[0].cmd.Wait()
		}
		body := map[string]any{"client_id": fmt.Sprint("k", i), "body": fmt.Sprint(i)}
		path := fmt.Sprintf("/api/v1/conversations/%d/messages", id)
		status, err := alice.call("POST", path, body, nil)
		if err != nil || (status != 201 && status != 200) {
			// node 1 is gone: the client retries the same message on node 2
			retried++
			alice.at(b).must(201, "POST", path, body, nil)
		}
	}
	if retried == 0 {
		t.Fatal("the kill did not hit the burst")
	}

	// bob, on the surviving node, got every message exactly once, live
	// (node 1's unpublished events come from its outbox, swept by node 2)
	bobSocket.waitSeqs(t, 1, total)
	var s struct {
		Conversations []struct {
			LastSeq int64 `json:"last_seq"`
		}
	}
	bob.must(200, "GET", "/api/v1/sync", nil, &s)
	if len(s.Conversations) != 1 || s.Conversations[0].LastSeq != total {
		t.Fatalf("after the kill: %+v, want last_seq %d", s.Conversations, total)
	}
	// alice reconnects to node 2 and syncs: everything is there
	dialSocket(t, b, alice.token)
	seen := map[string]bool{}
	for after := int64(0); ; {
		var page struct {
			Messages []struct {
				Seq      int64
				ClientID string `json:"client_id"`
			}
			HasMore bool `json:"has_more"`
		}
		alice.at(b).must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after=%d&limit=200", id, after), nil, &page)
		for _, m := range page.Messages {
			if seen[m.ClientID] {
				t.Fatalf("client_id %s stored twice", m.ClientID)
			}
			seen[m.ClientID] = true
			after = m.Seq
		}
		if !page.HasMore {
			break
		}
	}
	if len(seen) != total {
		t.Fatalf("%d messages stored, want %d", len(seen), total)
	}
	t.Logf("retried on node 2: %d sends", retried)
}

// TestThroughNginx runs Debian's nginx in front of two nodes, with the
// project's deploy/nginx.conf, and chats through it.
func TestThroughNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("nginx is not installed (apt-get install nginx-light)")
		}
	}
	nodes := testCluster(t, 2, "PARLEY_TRUSTED_PROXIES=127.0.0.1")
	dir := t.TempDir()
	conf, err := os.ReadFile("deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	upstream := fmt.Sprintf("server %s max_fails=1 fail_timeout=5s;\n        server %s max_fails=1 fail_timeout=5s;", nodes[0].addr, nodes[1].addr)
	c := regexp.MustCompile(`(?s)# parley:upstream.*# parley:upstream-end`).ReplaceAllString(string(conf), upstream)
	c = strings.Replace(c, "listen 80;", "listen "+listen+";", 1)
	c = strings.Replace(c, "worker_processes auto;", fmt.Sprintf(
		"worker_processes 1;\npid %[1]s/nginx.pid;\nerror_log %[1]s/error.log;\n", dir), 1)
	c = strings.Replace(c, "http {", fmt.Sprintf(
		"http {\n    access_log %[1]s/access.log;\n    client_body_temp_path %[1]s/body;\n    proxy_temp_path %[1]s/proxy;\n"+
			"    fastcgi_temp_path %[1]s/fastcgi;\n    uwsgi_temp_path %[1]s/uwsgi;\n    scgi_temp_path %[1]s/scgi;\n", dir), 1)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx: %s\n%s", out.String(), log)
		}
	})
	base := "http://" + listen
	waitFor(t, base+"/healthz")
	// the operations endpoints are not served to the public
	for _, path := range []string{"/readyz", "/metrics"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Fatalf("nginx serves %s to the public: %d", path, res.StatusCode)
		}
	}

	// two users chat through nginx; their sockets land on different nodes
	alice := signupAt(t, base, "alice")
	bob := signupAt(t, base, "bob")
	var conv struct{ Conversation struct{ ID int64 } }
	alice.must(200, "POST", "/api/v1/direct", map[string]any{"user_id": bob.id}, &conv)
	var sockets []*socket
	nodesSeen := map[string]bool{}
	for range 4 {
		s := dialSocket(t, base, bob.token)
		sockets = append(sockets, s)
	}
	for range 4 {
		var h struct{ Node string }
		alice.must(200, "GET", "/healthz", nil, &h)
		nodesSeen[h.Node] = true
	}
	if len(nodesSeen) != 2 {
		t.Fatalf("nginx reached nodes %v, want both", nodesSeen)
	}
	for i := range 50 {
		alice.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.Conversation.ID),
			map[string]any{"client_id": fmt.Sprint("n", i), "body": "through nginx"}, nil)
	}
	for _, s := range sockets {
		s.waitSeqs(t, 1, 50)
	}

	// a file larger than nginx's limit for other requests goes up through
	// one node and comes down whole through both
	data := make([]byte, 3<<20)
	rand.Read(data)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	part, _ := mw.CreateFormFile("file", "data.bin")
	part.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/uploads", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+alice.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ Upload struct{ ID int64 } }
	json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("upload through nginx: %d", res.StatusCode)
	}
	var sent struct {
		Message struct{ Attachments []struct{ URL string } }
	}
	alice.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.Conversation.ID),
		map[string]any{"client_id": "file", "upload_ids": []int64{up.Upload.ID}}, &sent)
	for range 4 {
		req, _ := http.NewRequest("GET", base+sent.Message.Attachments[0].URL, nil)
		req.Header.Set("Authorization", "Bearer "+bob.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(got, data) {
			t.Fatalf("download through nginx: %d, %d bytes", res.StatusCode, len(got))
		}
	}

	log, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	if !strings.Contains(string(log), "/api/v1/auth/signup") {
		t.Fatal("the requests did not go through nginx")
	}
}
