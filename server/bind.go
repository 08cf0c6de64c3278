package server

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/server/chat"
)

// An endpoint binds a request into its input type, calls one use case and
// answers: the parsing and the error handling every handler shares,
// written once. The input's fields say where they come from:
//
//	`path:"id"`     a path parameter: a positive id (else 404), or a string
//	`query:"q"`     a query parameter: a string, or a whole number (*int64)
//	`json:"name"`   the JSON body; an input with such fields needs one
//
// The use case's answer goes out as JSON with the endpoint's status; a nil
// answer is 204, and created{v} is v with 201.
func endpoint[In any](s *Server, status int, fn func(r *http.Request, me chat.Actor, in In) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in In
		out, err := any(nil), bind(r, &in)
		if err == nil {
			out, err = fn(r, actor(r.Context()), in)
		}
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		code := status
		if c, ok := out.(created); ok {
			code, out = http.StatusCreated, c.v
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, code, out)
	}
}

// created answers v with 201 where the endpoint's status is another.
type created struct{ v any }

// bind fills in from the request, as endpoint describes: a bad path is
// 404 before anything else, and the body is read before the path and
// query fields are set, so no body can set what they say.
func bind(r *http.Request, in any) error {
	v := reflect.ValueOf(in).Elem()
	if v.Kind() != reflect.Struct {
		return nil
	}
	p := planOf(v.Type())
	var buf [4]reflect.Value
	values := buf[:0]
	for _, f := range p.fields {
		switch f.from {
		case fromPathString:
			// the router matches the escaped path: a value such as an
			// emoji arrives escaped
			s, err := url.PathUnescape(chi.URLParam(r, f.name))
			if err != nil {
				return chat.ErrNotFound
			}
			values = append(values, reflect.ValueOf(s))
		case fromPathID:
			id, err := pathID(r, f.name)
			if err != nil {
				return err
			}
			values = append(values, reflect.ValueOf(id))
		case fromQueryString:
			values = append(values, reflect.ValueOf(r.URL.Query().Get(f.name)))
		case fromQueryNumber:
			raw := r.URL.Query().Get(f.name)
			if raw == "" {
				values = append(values, reflect.Zero(f.typ))
				continue
			}
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return chat.Validation(f.name, f.name+" is a whole number.")
			}
			values = append(values, reflect.ValueOf(&n))
		}
	}
	if p.body {
		if err := decode(r, in); err != nil {
			return err
		}
	}
	for i, f := range p.fields {
		v.FieldByIndex(f.index).Set(values[i])
	}
	return nil
}

// A bindPlan is what bind reads off an input type's fields, once per type:
// the path and query fields in order, and whether a body is expected.
type bindPlan struct {
	fields []boundField
	body   bool
}

type boundField struct {
	index []int
	name  string
	from  int
	typ   reflect.Type
}

const (
	fromPathString = iota
	fromPathID
	fromQueryString
	fromQueryNumber
)

var bindPlans sync.Map // reflect.Type → *bindPlan

func planOf(t reflect.Type) *bindPlan {
	if p, ok := bindPlans.Load(t); ok {
		return p.(*bindPlan)
	}
	p := &bindPlan{}
	for _, f := range reflect.VisibleFields(t) { // embedded structs' fields too
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue // its fields follow
		}
		b := boundField{index: f.Index, typ: f.Type}
		if name, ok := f.Tag.Lookup("path"); ok {
			b.name, b.from = name, fromPathID
			if f.Type.Kind() == reflect.String {
				b.from = fromPathString
			}
		} else if name, ok := f.Tag.Lookup("query"); ok {
			b.name, b.from = name, fromQueryNumber
			if f.Type.Kind() == reflect.String {
				b.from = fromQueryString
			}
		} else {
			p.body = p.body || f.Tag.Get("json") != "-"
			continue
		}
		p.fields = append(p.fields, b)
	}
	bindPlans.Store(t, p)
	return p
}
