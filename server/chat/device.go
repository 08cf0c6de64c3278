package chat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/store"
)

// Device tokens: a browser that logged in as a user keeps a token saying
// so, signed with the install's key (every node checks it alike). When a
// username's failed logins are spent, only such a browser may still try.

const deviceLife = 365 * 24 * time.Hour

type deviceKey struct {
	mu  sync.Mutex
	key []byte
}

// signingKey loads (or makes, on a new install) the key, once it works.
func (s *Service) signingKey(ctx context.Context) ([]byte, error) {
	s.device.mu.Lock()
	defer s.device.mu.Unlock()
	if s.device.key != nil {
		return s.device.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := s.db.GetOrCreateSecret(ctx, store.GetOrCreateSecretParams{Name: "device-cookie", Fresh: fresh})
	if err != nil {
		return nil, err
	}
	s.device.key = key
	return key, nil
}

func (s *Service) deviceToken(ctx context.Context, username string, at time.Time) (string, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return "", err
	}
	body := username + "." + strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString([]byte(body)) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// validDevice reports whether token is a device token of username, not
// older than a year.
func (s *Service) validDevice(ctx context.Context, token, username string) bool {
	b64, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 256 {
		return false
	}
	body, err1 := base64.RawURLEncoding.DecodeString(b64)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	name, at, ok := strings.Cut(string(body), ".")
	if err1 != nil || err2 != nil || !ok || name != username {
		return false
	}
	unix, err := strconv.ParseInt(at, 10, 64)
	if err != nil || time.Since(time.Unix(unix, 0)) > deviceLife {
		return false
	}
	key, err := s.signingKey(ctx)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
