package chat

import (
	"context"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/server/search"
)

// searchTimeout bounds one search: a query that matches too much to rank
// in time is told to narrow down, not left to hold a connection.
const searchTimeout = 5 * time.Second

// searchesAtOnce bounds the searches a node runs at once.
const searchesAtOnce = 4

// SearchQuery is GET /search's parameters.
type SearchQuery struct {
	Q              string
	ConversationID *int64
	GroupID        *int64
	From           *int64
	Before         *int64
	Limit          int
}

// SearchResult is one hit: the message and where it is.
type SearchResult struct {
	Message        Message `json:"message"`
	ConversationID int64   `json:"conversation_id"`
	Title          string  `json:"title"`
}

// SearchPage is GET /search's answer.
type SearchPage struct {
	Results []SearchResult `json:"results"`
	HasMore bool           `json:"has_more"`
}

// Search finds the messages the actor may read (docs/protocol.md, Search).
func (s *Service) Search(ctx context.Context, me Actor, in SearchQuery) (SearchPage, error) {
	if in.Limit == 0 {
		in.Limit = 20
	}
	switch n := utf8.RuneCountInString(in.Q); {
	case n == 0 || n > 200:
		return SearchPage{}, Validation("q", "q is 1 to 200 characters.")
	case in.Limit < 1 || in.Limit > 50:
		return SearchPage{}, Validation("limit", "limit is 1 to 50.")
	}
	terms, err := search.Parse(in.Q)
	if errors.Is(err, search.ErrEmpty) {
		return SearchPage{}, Validation("q", "Give a word to look for (not only words to leave out).")
	}
	if ok, after := s.limits.search.allow(strconv.FormatInt(me.ID(), 10)); !ok {
		return SearchPage{}, RateLimited(after)
	}
	q := search.Query{UserID: me.ID(), Terms: terms, Limit: in.Limit}
	for _, f := range []struct {
		v     *int64
		to    *int64
		field string
	}{{in.ConversationID, &q.ConversationID, "conversation_id"}, {in.GroupID, &q.GroupID, "group_id"}, {in.From, &q.From, "from"}, {in.Before, &q.Before, "before"}} {
		if f.v != nil {
			if *f.v < 1 {
				return SearchPage{}, Validation(f.field, f.field+" is an id (a whole number from 1).")
			}
			*f.to = *f.v
		}
	}
	// a few searches at once per node: the database serves sends too
	select {
	case s.searching <- struct{}{}:
		defer func() { <-s.searching }()
	case <-time.After(2 * time.Second):
		return SearchPage{}, &Error{Code: CodeRateLimited, RetryAfter: time.Second,
			Message: "The server is busy with other searches; try again in a moment."}
	case <-ctx.Done():
		return SearchPage{}, ctx.Err()
	}
	sctx, cancel := context.WithTimeout(ctx, searchTimeout)
	ids, more, err := s.search.Search(sctx, q)
	cancel()
	if err != nil && ctx.Err() == nil && errors.Is(sctx.Err(), context.DeadlineExceeded) {
		return SearchPage{}, Validation("q", "That search matches too much to finish; add a word or a filter.")
	} else if err != nil {
		return SearchPage{}, err
	}
	page := SearchPage{Results: []SearchResult{}, HasMore: more}
	if len(ids) == 0 {
		return page, nil
	}
	rows, err := s.db.ListMessagesByIDs(ctx, ids)
	if err != nil {
		return SearchPage{}, err
	}
	msgs, err := hydrate(ctx, s.db.Queries, rows)
	if err != nil {
		return SearchPage{}, err
	}
	titles := map[int64]string{}
	for _, m := range msgs {
		if _, ok := titles[m.ConversationID]; !ok {
			c, err := conversationQ(ctx, s.db.Queries, me.ID(), m.ConversationID)
			if errors.Is(err, ErrNotFound) {
				continue // left between the two reads
			} else if err != nil {
				return SearchPage{}, err
			}
			titles[m.ConversationID] = c.Title
		}
	}
	for _, m := range msgs {
		if t, ok := titles[m.ConversationID]; ok && !m.Deleted {
			page.Results = append(page.Results, SearchResult{Message: m, ConversationID: m.ConversationID, Title: t})
		}
	}
	return page, nil
}
