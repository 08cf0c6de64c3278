package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/server/chat"
)

// BenchmarkBind: what binding a send's input (a path id and a JSON body)
// costs per request.
func BenchmarkBind(b *testing.B) {
	body := `{"client_id":"c-123456","body":"` + strings.Repeat("x", 100) + `"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/api/v1/conversations/42/messages", strings.NewReader(body))
		rc := chi.NewRouteContext()
		rc.URLParams.Add("id", "42")
		r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rc))
		var in struct {
			ConversationID int64 `path:"id"`
			chat.Outgoing
		}
		if err := bind(r, &in); err != nil || in.ConversationID != 42 {
			b.Fatal(err, in.ConversationID)
		}
	}
}
