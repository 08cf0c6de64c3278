package server

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"

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
	fields := reflect.VisibleFields(v.Type()) // embedded structs' fields too
	values := make([]reflect.Value, len(fields))
	body := false
	for i, f := range fields {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue // its fields follow
		}
		if name, ok := f.Tag.Lookup("path"); ok {
			if f.Type.Kind() == reflect.String {
				// the router matches the escaped path: a value such as an
				// emoji arrives escaped
				v, err := url.PathUnescape(chi.URLParam(r, name))
				if err != nil {
					return chat.ErrNotFound
				}
				values[i] = reflect.ValueOf(v)
				continue
			}
			id, err := pathID(r, name)
			if err != nil {
				return err
			}
			values[i] = reflect.ValueOf(id)
		} else if name, ok := f.Tag.Lookup("query"); ok {
			raw := r.URL.Query().Get(name)
			switch {
			case f.Type.Kind() == reflect.String:
				values[i] = reflect.ValueOf(raw)
			case raw == "":
				values[i] = reflect.Zero(f.Type)
			default:
				n, err := strconv.ParseInt(raw, 10, 64)
				if err != nil {
					return chat.Validation(name, name+" is a whole number.")
				}
				values[i] = reflect.ValueOf(&n)
			}
		} else {
			body = body || f.Tag.Get("json") != "-"
		}
	}
	if body {
		if err := decode(r, in); err != nil {
			return err
		}
	}
	for i, val := range values {
		if val.IsValid() {
			v.FieldByIndex(fields[i].Index).Set(val)
		}
	}
	return nil
}
