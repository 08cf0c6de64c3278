package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/parleychat/parley/server"
)

// The OpenAPI document (server/openapi.json) cannot drift from the code:
// every route is in it (TestOpenAPIRoutes), every answer the client
// helper of these tests gets is checked against it (checkResponse), and
// every WebSocket frame a test client reads against the frame schemas
// (checkFrame).

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		l := openapi3.NewLoader()
		spec.doc, spec.err = l.LoadFromData(server.OpenAPI())
		if spec.err != nil {
			return
		}
		if spec.err = spec.doc.Validate(context.Background()); spec.err != nil {
			return
		}
		// routes match on the path alone: the tests' server is on a random port
		d := *spec.doc
		d.Servers = openapi3.Servers{{URL: "/api/v1"}}
		spec.router, spec.err = gorillamux.NewRouter(&d)
	})
	if spec.err != nil {
		t.Fatalf("openapi.json: %v", spec.err)
	}
	return spec.doc, spec.router
}

// checkResponse fails the test when an answer under /api/v1 is not what
// the document says (responseProblem).
func checkResponse(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	loadSpec(t)
	if err := responseProblem(req, status, header, body); err != nil {
		t.Errorf("openapi: %v\n%s", err, truncate(body))
	}
}

// responseProblem says how an answer under /api/v1 differs from the
// document: an undocumented route, or a body that does not match the
// schema of its status (or of its default, the Error).
func responseProblem(req *http.Request, status int, header http.Header, body []byte) error {
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") || status == http.StatusSwitchingProtocols {
		return nil
	}
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	route, params, err := spec.router.FindRoute(r)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil // an unknown path or method: the router's own 404/405
		}
		return fmt.Errorf("%s %s (answered %d) is not in the document: %v", req.Method, req.URL.Path, status, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if header.Get("Content-Type") == "" && len(body) == 0 {
		in.Options.ExcludeResponseBody = true
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, not as documented: %v", req.Method, req.URL.Path, status, err)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// frameSchemas are the frame types with a schema of their own; the others
// are checked as a Frame.
var frameSchemas = map[string]string{
	"hello": "FrameHello", "message.created": "FrameMessage", "message.updated": "FrameMessage", "message.sent": "FrameMessage",
	"conversation.updated": "FrameConversation", "receipt": "FrameReceipt", "typing": "FrameTyping",
	"presence": "FramePresence", "error": "FrameError",
}

// checkFrame checks one WebSocket frame against its schema.
func checkFrame(t *testing.T, raw []byte) {
	doc, _ := loadSpec(t)
	var f struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &f)
	name, ok := frameSchemas[f.Type]
	if !ok {
		name = "Frame"
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Errorf("openapi: a frame that is not JSON: %s", truncate(raw))
		return
	}
	if err := doc.Components.Schemas[name].Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Errorf("openapi: a %s frame is not as documented (%s): %v\n%s", f.Type, name, err, truncate(raw))
	}
}

// TestOpenAPIRoutes: every route of the router is in the document, and
// the document describes nothing the router lacks; /api/v1/openapi.json
// serves it.
func TestOpenAPIRoutes(t *testing.T) {
	e := newEnv(t)
	doc, _ := loadSpec(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" /api/v1"+path] = true
		}
	}
	outside := []string{"GET /healthz", "GET /readyz", "GET /metrics", "POST /hooks/{secret}"} // not the API's; /hooks is under webhooks
	routes := e.srv.RouteList()
	for _, r := range routes {
		if slices.Contains(outside, r) || strings.HasSuffix(r, "/*") {
			continue
		}
		if !documented[r] {
			t.Errorf("%s is not in openapi.json", r)
		}
		delete(documented, r)
	}
	for r := range documented {
		t.Errorf("openapi.json describes %s, which no route serves", r)
	}
	if doc.Webhooks["incoming"] == nil || !slices.Contains(routes, "POST /hooks/{secret}") {
		t.Error("the incoming webhook is not described")
	}
	res := e.client().must(200, "GET", "/api/v1/openapi.json", nil)
	if !bytes.Equal(res.Body, server.OpenAPI()) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("served %s %d bytes", res.Header.Get("Content-Type"), len(res.Body))
	}
}

// TestOpenAPICheckCanFail: the checks refuse what the document does not
// say, so the suite's passing means something.
func TestOpenAPICheckCanFail(t *testing.T) {
	loadSpec(t)
	get := func(path string) *http.Request { r, _ := http.NewRequest("GET", "http://x"+path, nil); return r }
	js := http.Header{"Content-Type": {"application/json"}}
	good := []byte(`{"user":{"id":1,"username":"a","display_name":"A","created_at":"2026-01-01T00:00:00Z","role":"member","deactivated":false}}`)
	if err := responseProblem(get("/api/v1/me"), 200, js, good); err != nil {
		t.Fatalf("a good answer refused: %v", err)
	}
	for name, c := range map[string]struct {
		path   string
		status int
		body   string
	}{
		"wrong type":         {"/api/v1/me", 200, `{"user":{"id":"one","username":"a","display_name":"A","created_at":"2026-01-01T00:00:00Z","role":"member","deactivated":false}}`},
		"missing field":      {"/api/v1/me", 200, `{"user":{"id":1}}`},
		"unknown role":       {"/api/v1/me", 200, `{"user":{"id":1,"username":"a","display_name":"A","created_at":"2026-01-01T00:00:00Z","role":"god","deactivated":false}}`},
		"error without code": {"/api/v1/me", 401, `{"error":{"message":"no"}}`},
		"undocumented":       {"/api/v1/nowhere/1", 200, `{}`},
	} {
		if err := responseProblem(get(c.path), c.status, js, []byte(c.body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	doc, _ := loadSpec(t)
	var v any
	_ = json.Unmarshal([]byte(`{"type":"message.created","data":{"message":{"id":1}}}`), &v)
	if doc.Components.Schemas["FrameMessage"].Value.VisitJSON(v) == nil {
		t.Error("a frame without its message's fields was accepted")
	}
}

// TestBotFromOpenAPI: a bot that knows only the document (each call found
// by its operationId, the path filled in from its template) is made by a
// person, opens a chat with them, writes, and reads their answer, while
// the person follows on the WebSocket.
func TestBotFromOpenAPI(t *testing.T) {
	e := newEnv(t)
	doc, _ := loadSpec(t)
	call := func(c *client, op string, params map[string]any, body any, want int) resp {
		t.Helper()
		for path, item := range doc.Paths.Map() {
			for method, o := range item.Operations() {
				if o.OperationID != op {
					continue
				}
				for k, v := range params {
					path = strings.ReplaceAll(path, "{"+k+"}", fmt.Sprint(v))
				}
				return c.must(want, method, doc.Servers[0].URL+path, body)
			}
		}
		t.Fatalf("no operation %s in the document", op)
		return resp{}
	}
	alice := e.user("alice")
	var made struct {
		Bot    struct{ ID int64 }
		Secret string
	}
	call(alice.client, "createBot", nil, map[string]any{"username": "helperbot"}, 201).decode(t, &made)
	bot := e.client()
	bot.token = made.Secret
	aw := e.dial(alice.Token)
	var direct struct{ Conversation struct{ ID int64 } }
	call(bot, "openDirect", nil, map[string]any{"user_id": alice.ID}, 200).decode(t, &direct)
	conv := map[string]any{"id": direct.Conversation.ID}
	call(bot, "sendMessage", conv, map[string]any{"client_id": "hello-1", "body": "Hi! Ask me for the build status."}, 201)
	var got struct{ Message message }
	aw.expect("message.created", "presence", "conversation.updated", "receipt").decode(t, &got)
	if got.Message.SenderID != made.Bot.ID {
		t.Fatalf("alice got %+v", got.Message)
	}
	alice.say(direct.Conversation.ID, "status?")
	var page struct{ Messages []message }
	call(bot, "listMessages", conv, nil, 200).decode(t, &page)
	if len(page.Messages) != 2 || page.Messages[1].Body != "status?" {
		t.Fatalf("the bot read %+v", page.Messages)
	}
	call(bot, "sendMessage", conv, map[string]any{"client_id": "status-1", "body": "Build 42 is green.", "reply_to_seq": page.Messages[1].Seq}, 201)
	call(bot, "postReceipts", conv, map[string]any{"read_seq": page.Messages[1].Seq}, 204)
}
