// Package push sends Web Push messages (RFC 8030 delivery, RFC 8291
// aes128gcm encryption, RFC 8292 VAPID) with github.com/SherClockHolmes/
// webpush-go, through a dialer that refuses private addresses: a push
// endpoint is a URL a user gave us, and the server must not be turned
// into a way to reach its own network.
package push

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/parleychat/parley/store"
)

const sendTimeout = 10 * time.Second

// Subscription is a browser's push subscription.
type Subscription struct {
	Endpoint string
	P256dh   string
	Auth     string
}

// Message is one push.
type Message struct {
	Payload []byte
	TTL     time.Duration
	High    bool   // Urgency: high (a mention or a direct message)
	Topic   string // a newer push with the same topic replaces an undelivered one
}

// Sender sends pushes with the install's VAPID key pair.
type Sender struct {
	public, private string
	contact         string
	insecure        bool
	client          *http.Client
}

// Options configure a Sender.
type Options struct {
	// Contact is the VAPID "sub": a mailto: or https: URL where push
	// services can reach the operator.
	Contact string
	// AllowInsecure lets endpoints be http and on any address (test rigs).
	AllowInsecure bool
}

// New loads the install's VAPID key pair from the database, making it the
// first time (whichever node asks first).
func New(ctx context.Context, db *store.DB, o Options) (*Sender, error) {
	priv, pub, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		return nil, err
	}
	v, err := db.GetOrCreateSecret(ctx, store.GetOrCreateSecretParams{Name: "vapid", Fresh: []byte(priv + " " + pub)})
	if err != nil {
		return nil, fmt.Errorf("vapid keys: %w", err)
	}
	priv, pub, ok := strings.Cut(string(v), " ")
	if !ok {
		return nil, errors.New("vapid keys: the stored pair is malformed")
	}
	dialer := &net.Dialer{Timeout: sendTimeout}
	if !o.AllowInsecure {
		dialer.Control = ssrf.New().Safe // public addresses, ports 80 and 443
	}
	client := &http.Client{
		Timeout: sendTimeout,
		Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext, TLSHandshakeTimeout: sendTimeout,
			ResponseHeaderTimeout: sendTimeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	contact := strings.TrimPrefix(o.Contact, "mailto:") // the library adds it back
	return &Sender{public: pub, private: priv, contact: contact, insecure: o.AllowInsecure, client: client}, nil
}

// PublicKey is the VAPID public key (base64url, the uncompressed point).
func (s *Sender) PublicKey() string { return s.public }

// ErrBadEndpoint is a subscription endpoint Parley will not send to.
var ErrBadEndpoint = errors.New("push: the endpoint must be an https URL on a public host")

// CheckSubscription checks what a browser sent before it is stored.
func (s *Sender) CheckSubscription(sub Subscription) error {
	u, err := url.Parse(sub.Endpoint)
	if err != nil || u.Host == "" || len(sub.Endpoint) > 2048 || u.User != nil {
		return ErrBadEndpoint
	}
	if u.Scheme != "https" && !(s.insecure && u.Scheme == "http") {
		return ErrBadEndpoint
	}
	if !s.insecure {
		host := u.Hostname()
		if ip := net.ParseIP(host); ip != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") || !strings.Contains(host, ".") {
			return ErrBadEndpoint // push services have public names; the dialer checks the address too
		}
	}
	if k, err := decode(sub.P256dh); err != nil || len(k) != 65 || k[0] != 4 {
		return errors.New("push: keys.p256dh is not a P-256 public key (65 bytes, base64url)")
	}
	if k, err := decode(sub.Auth); err != nil || len(k) != 16 {
		return errors.New("push: keys.auth is not a 16-byte secret (base64url)")
	}
	return nil
}

func decode(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Send delivers one push and returns the push service's status.
func (s *Sender) Send(ctx context.Context, sub Subscription, m Message) (int, error) {
	urgency := webpush.UrgencyNormal
	if m.High {
		urgency = webpush.UrgencyHigh
	}
	res, err := webpush.SendNotificationWithContext(ctx, m.Payload, &webpush.Subscription{
		Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Auth, P256dh: sub.P256dh}},
		&webpush.Options{HTTPClient: s.client, Subscriber: s.contact, Topic: m.Topic, TTL: int(m.TTL.Seconds()),
			Urgency: urgency, VAPIDPublicKey: s.public, VAPIDPrivateKey: s.private})
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}
