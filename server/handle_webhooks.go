package server

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/server/chat"
)

// Incoming webhooks (docs/protocol.md, Integrations).

// baseURL is the server's address as this client reached it: the scheme
// (from a trusted proxy's X-Forwarded-Proto, or the connection) and Host.
func baseURL(r *http.Request) string {
	scheme := "http"
	if info(r.Context()).tls {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) createWebhook(r *http.Request, me chat.Actor, in struct {
	ConversationID int64  `path:"id"`
	Name           string `json:"name"`
}) (any, error) {
	w, err := s.chat.CreateWebhook(r.Context(), me, in.ConversationID, in.Name, baseURL(r))
	if err != nil {
		return nil, err
	}
	return map[string]any{"webhook": w}, nil
}

func (s *Server) listWebhooks(r *http.Request, me chat.Actor, in struct {
	ConversationID int64 `path:"id"`
}) (any, error) {
	ws, err := s.chat.ListWebhooks(r.Context(), me, in.ConversationID, baseURL(r))
	if err != nil {
		return nil, err
	}
	return map[string]any{"webhooks": ws}, nil
}

func (s *Server) deleteWebhook(r *http.Request, me chat.Actor, in struct {
	ConversationID int64 `path:"id"`
	ID             int64 `path:"webhook_id"`
}) (any, error) {
	return nil, s.chat.DeleteWebhook(r.Context(), me, in.ConversationID, in.ID)
}

// handleHook is POST /hooks/{secret}: Slack's incoming-webhook body, JSON
// or a form whose payload field holds the JSON (a JSON body sent with a
// form's content type, as `curl -d` does, is read as JSON), answered 200
// "ok" as Slack's is.
func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	payload := bytes.TrimSpace(body)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" && !bytes.HasPrefix(payload, []byte("{")) {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			s.respondError(w, r, chat.Validation("payload", `A form posts its JSON in the field "payload".`))
			return
		}
		payload = []byte(form.Get("payload"))
	}
	var in chat.HookPost
	if err := decodeJSON(payload, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	if _, err := s.chat.PostWebhook(r.Context(), chi.URLParam(r, "secret"), in); err != nil {
		s.respondError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}
