package server_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/push"
)

// pushService is a Web Push service on 127.0.0.1 that does what a
// browser's would: it checks the VAPID signature (RFC 8292) against the
// server's public key and decrypts every push (RFC 8291) with the
// subscription's own keys.
type pushService struct {
	t      *testing.T
	ts     *httptest.Server
	vapid  string // the server's public key, once known
	mu     sync.Mutex
	subs   map[string]*pushSub
	got    []pushGot
	status map[string][]int // answers to give a subscription, in turn (then 201)
}

type pushSub struct {
	name string
	key  *ecdh.PrivateKey
	auth []byte
}

type pushGot struct {
	Sub     string
	Urgency string
	TTL     string
	Topic   string
	Payload struct {
		Type           string
		ConversationID int64 `json:"conversation_id"`
		Seq            int64
		Title          string
		Body           *string
		Count          int
	}
}

func newPushService(t *testing.T) *pushService {
	p := &pushService{t: t, subs: map[string]*pushSub{}, status: map[string][]int{}}
	p.ts = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.ts.Close)
	return p
}

// pusher is a push.Sender for this service (endpoints on 127.0.0.1, http).
func pusher(t *testing.T, o *server.Options) {
	t.Helper()
	s, err := push.New(context.Background(), o.DB, push.Options{Contact: "mailto:ops@example.com", AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	o.Pusher = s
}

// subscription makes a browser's subscription named name.
func (p *pushService) subscription(name string) map[string]any {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	p.mu.Lock()
	p.subs[name] = &pushSub{name: name, key: key, auth: auth}
	p.mu.Unlock()
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]any{"endpoint": p.ts.URL + "/push/" + name,
		"keys": map[string]string{"p256dh": b64(key.PublicKey().Bytes()), "auth": b64(auth)}}
}

func (p *pushService) answer(name string, codes ...int) {
	p.mu.Lock()
	p.status[name] = append(p.status[name], codes...)
	p.mu.Unlock()
}

func (p *pushService) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/push/")
	p.mu.Lock()
	sub := p.subs[name]
	var code int
	if q := p.status[name]; len(q) > 0 {
		code, p.status[name] = q[0], q[1:]
	}
	p.mu.Unlock()
	if sub == nil {
		http.Error(w, "no such subscription", http.StatusGone)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if err := p.checkVAPID(r.Header.Get("Authorization")); err != nil {
		p.t.Errorf("push to %s: VAPID: %v", name, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		p.t.Errorf("push to %s: Content-Encoding %q", name, r.Header.Get("Content-Encoding"))
	}
	plain, err := decryptPush(sub, body)
	if err != nil {
		p.t.Errorf("push to %s: %v", name, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if code != 0 {
		w.WriteHeader(code)
		return
	}
	g := pushGot{Sub: name, Urgency: r.Header.Get("Urgency"), TTL: r.Header.Get("TTL"), Topic: r.Header.Get("Topic")}
	if err := json.Unmarshal(plain, &g.Payload); err != nil {
		p.t.Errorf("push to %s: payload %q: %v", name, plain, err)
	}
	p.mu.Lock()
	p.got = append(p.got, g)
	p.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=JWT, k=KEY": an ES256 signature by the
// server's key over a JWT for this origin, with a contact.
func (p *pushService) checkVAPID(h string) error {
	h, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return errors.New("no vapid authorization")
	}
	var tok, k string
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "t="); ok {
			tok = v
		} else if v, ok := strings.CutPrefix(part, "k="); ok {
			k = v
		}
	}
	if p.vapid != "" && strings.TrimRight(k, "=") != strings.TrimRight(p.vapid, "=") {
		return fmt.Errorf("key %s is not the server's %s", k, p.vapid)
	}
	kb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k, "="))
	if err != nil {
		return err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), kb)
	if err != nil {
		return err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("bad signature encoding")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("the signature does not verify")
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Aud, Sub string
		Exp      int64
	}
	if err := json.Unmarshal(claims, &c); err != nil {
		return err
	}
	if c.Aud != p.ts.URL || c.Sub != "mailto:ops@example.com" || c.Exp < time.Now().Unix() || c.Exp > time.Now().Add(24*time.Hour).Unix() {
		return fmt.Errorf("claims %+v", c)
	}
	return nil
}

// decryptPush undoes RFC 8291's aes128gcm content coding.
func decryptPush(sub *pushSub, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short body")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen || rs < 18 {
		return nil, errors.New("bad header")
	}
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idlen])
	if err != nil {
		return nil, err
	}
	secret, err := sub.key.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), sub.key.PublicKey().Bytes()...), asPub.Bytes()...)
	ikm, err := hkdf.Key(sha256.New, secret, sub.auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, body[21+idlen:], nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:i], nil
}

// received returns the pushes so far.
func (p *pushService) received() []pushGot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pushGot(nil), p.got...)
}

// waitFor waits until n pushes have come in all.
func (p *pushService) waitFor(n int) []pushGot {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if g := p.received(); len(g) >= n {
			return g
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d pushes after 15 s, want %d: %+v", len(p.received()), n, p.received())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
