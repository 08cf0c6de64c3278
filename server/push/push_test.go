package push_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/parleychat/parley/server/push"
	"github.com/parleychat/parley/store/storetest"
)

// TestSubscriptionChecks: outside test rigs, an endpoint is https on a
// public name; the keys are a P-256 point and a 16-byte secret. The key
// pair is made once per install.
func TestSubscriptionChecks(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	s, err := push.New(ctx, db, push.Options{Contact: "mailto:ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := push.New(ctx, db, push.Options{})
	if err != nil || again.PublicKey() != s.PublicKey() {
		t.Fatalf("a second node has another key: %v", err)
	}
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	b64 := base64.RawURLEncoding.EncodeToString
	p256, auth := b64(k.PublicKey().Bytes()), b64(make([]byte, 16))
	for _, c := range []struct {
		endpoint, p256, auth string
		ok                   bool
	}{
		{"https://fcm.googleapis.com/fcm/send/abc", p256, auth, true},
		{"https://updates.push.services.mozilla.com/wpush/v2/x", p256, auth, true},
		{"http://fcm.googleapis.com/fcm/send/abc", p256, auth, false},
		{"https://127.0.0.1/x", p256, auth, false},
		{"https://[::1]/x", p256, auth, false},
		{"https://localhost/x", p256, auth, false},
		{"https://intranet/x", p256, auth, false},
		{"https://user:pw@push.example.com/x", p256, auth, false},
		{"https://push.example.com/x", "AAAA", auth, false},
		{"https://push.example.com/x", p256, b64(make([]byte, 8)), false},
	} {
		err := s.CheckSubscription(push.Subscription{Endpoint: c.endpoint, P256dh: c.p256, Auth: c.auth})
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.endpoint, err)
		}
	}
}
