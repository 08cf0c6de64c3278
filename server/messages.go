package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/store"
)

const (
	maxBodyChars     = 4000
	maxClientIDChars = 64
)

// errSendRace means the send statement stored nothing: the client_id is
// taken (a retry, or a concurrent send won) or the sender is not a member.
// The transaction is rolled back, so no seq is used.
var errSendRace = errors.New("concurrent send with the same client_id")

func checkMessage(clientID, body string) error {
	if n := utf8.RuneCountInString(clientID); n < 1 || n > maxClientIDChars || !utf8.ValidString(clientID) || strings.ContainsRune(clientID, 0) {
		return validation("client_id", "client_id must be 1 to 64 characters.")
	}
	if !utf8.ValidString(body) || strings.ContainsRune(body, 0) {
		return validation("body", "The message must be valid UTF-8 text without NUL characters.")
	}
	if n := utf8.RuneCountInString(body); n < 1 || n > maxBodyChars {
		return validation("body", "A message is 1 to 4000 characters.")
	}
	if strings.TrimFunc(body, unicode.IsSpace) == "" {
		return validation("body", "A message cannot be only white space.")
	}
	return nil
}

// sendMessage is the one use case behind POST /messages and the WebSocket
// message.send frame. It returns created=false for a retry of a client_id
// the conversation already has (the same message, nothing new published).
// Concurrent sends are committed together (see sends.go); each returns only
// once its message is durable.
func (s *Server) sendMessage(ctx context.Context, user store.User, convID int64, clientID, body string) (store.Message, bool, error) {
	if err := checkMessage(clientID, body); err != nil {
		return store.Message{}, false, err
	}
	if ok, after := s.sendLimit.allow(strconv.FormatInt(user.ID, 10)); !ok {
		return store.Message{}, false, rateLimited(after)
	}
	res := s.sends.submit(ctx, sendReq{user: user, conv: convID, clientID: clientID, body: body})
	if errors.Is(res.err, errSendRace) {
		// the rare path: a retry of a stored message, or no membership
		check, err := s.opts.DB.CheckSend(ctx, store.CheckSendParams{ConversationID: convID, SenderID: user.ID, ClientID: clientID})
		if err != nil {
			return store.Message{}, false, err
		}
		if !check.Member {
			return store.Message{}, false, errNotFound
		}
		msg, err := s.opts.DB.GetMessageByClientID(ctx, store.GetMessageByClientIDParams{ConversationID: convID, SenderID: user.ID, ClientID: clientID})
		return msg, false, err
	}
	if res.err != nil {
		return store.Message{}, false, res.err
	}
	s.metrics.messages.Inc()
	return res.msg, true, nil
}

func (s *Server) handleSendMessage(w http.ResponseWriter, r *http.Request) {
	convID, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		ClientID string `json:"client_id"`
		Body     string `json:"body"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	msg, created, err := s.sendMessage(r.Context(), caller(r.Context()).User, convID, in.ClientID, in.Body)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, messageData{Message: messageJSON(msg)})
}

// handleListMessages pages history: ?before=SEQ (default: the newest) or
// ?after=SEQ, with limit 1–200, ascending, never at or below cleared_seq.
func (s *Server) handleListMessages(w http.ResponseWriter, r *http.Request) {
	convID, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := int64(50)
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil || limit < 1 || limit > 200 {
			s.respondError(w, r, validation("limit", "limit is 1 to 200."))
			return
		}
	}
	before, after := q.Get("before"), q.Get("after")
	if before != "" && after != "" {
		s.respondError(w, r, validation("after", "Give before or after, not both."))
		return
	}
	member, err := s.opts.DB.GetMember(r.Context(), store.GetMemberParams{ConversationID: convID, UserID: caller(r.Context()).User.ID})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var rows []store.Message
	if after != "" {
		seq, err := strconv.ParseInt(after, 10, 64)
		if err != nil || seq < 0 {
			s.respondError(w, r, validation("after", "after is a seq (a whole number)."))
			return
		}
		rows, err = s.opts.DB.ListMessagesAfter(r.Context(), store.ListMessagesAfterParams{
			ConversationID: convID, After: max(seq, member.ClearedSeq), Lim: int32(limit + 1)})
		if err != nil {
			s.respondError(w, r, err)
			return
		}
	} else {
		seq := int64(1) << 62
		if before != "" {
			if seq, err = strconv.ParseInt(before, 10, 64); err != nil || seq < 0 {
				s.respondError(w, r, validation("before", "before is a seq (a whole number)."))
				return
			}
		}
		rows, err = s.opts.DB.ListMessagesBefore(r.Context(), store.ListMessagesBeforeParams{
			ConversationID: convID, Before: seq, Cleared: member.ClearedSeq, Lim: int32(limit + 1)})
		if err != nil {
			s.respondError(w, r, err)
			return
		}
	}
	hasMore := int64(len(rows)) > limit
	if hasMore {
		rows = rows[:limit]
	}
	out := make([]Message, len(rows))
	for i, m := range rows {
		out[i] = messageJSON(m)
	}
	if after == "" { // fetched newest first
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Messages []Message `json:"messages"`
		HasMore  bool      `json:"has_more"`
	}{out, hasMore})
}
