package server

import (
	"net/http"

	"github.com/parleychat/parley/server/chat"
)

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
	msg, created, err := s.chat.Send(r.Context(), actor(r.Context()), convID, in.ClientID, in.Body)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	respond(s, w, r, status, chat.MessageData{Message: msg}, err)
}

// handleListMessages pages history: ?before=SEQ (default: the newest) or
// ?after=SEQ, with limit 1–200, ascending, never at or below cleared_seq.
func (s *Server) handleListMessages(w http.ResponseWriter, r *http.Request) {
	convID, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var h chat.HistoryQuery
	limit, err := queryInt(r, "limit", "limit is 1 to 200.")
	if err == nil && limit != nil {
		if h.Limit = *limit; h.Limit == 0 {
			err = chat.Validation("limit", "limit is 1 to 200.")
		}
	}
	if err == nil {
		h.Before, err = queryInt(r, "before", "before is a seq (a whole number).")
	}
	if err == nil {
		h.After, err = queryInt(r, "after", "after is a seq (a whole number).")
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	page, err := s.chat.History(r.Context(), actor(r.Context()), convID, h)
	respond(s, w, r, http.StatusOK, page, err)
}

func (s *Server) handlePostReceipts(w http.ResponseWriter, r *http.Request) {
	convID, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		DeliveredSeq *int64 `json:"delivered_seq"`
		ReadSeq      *int64 `json:"read_seq"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	noContent(s, w, r, s.chat.ReceiptWait(r.Context(), actor(r.Context()), convID, in.DeliveredSeq, in.ReadSeq))
}

func (s *Server) handleListReceipts(w http.ResponseWriter, r *http.Request) {
	convID, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	out, err := s.chat.ListReceipts(r.Context(), actor(r.Context()), convID)
	respond(s, w, r, http.StatusOK, map[string]any{"receipts": out}, err)
}
