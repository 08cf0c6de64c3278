package chat

import (
	"context"
	"time"

	"github.com/parleychat/parley/store"
)

// searchUpkeepEvery is how often a node merges the search indexes'
// pending lists, which sends fill (schema.sql, messages_trigrams): at
// 3,000 messages a second a second's entries are about 3 MB, well inside
// the lists' 16 MB limit, so no send has to merge them itself.
const searchUpkeepEvery = time.Second

// searchUpkeepLock is the advisory lock that lets one node at a time merge.
const searchUpkeepLock = 0x7061726c6573 // "parles"

// runSearchUpkeep merges the pending lists until the Service closes. A
// database user that does not own the indexes may not merge them: the
// node says so once and leaves it to the sends and to autovacuum.
func (s *Service) runSearchUpkeep() {
	tick := time.NewTicker(searchUpkeepEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := s.db.CleanSearchPending(ctx, searchUpkeepLock)
			cancel()
			if store.IsInsufficientPrivilege(err) {
				s.log.Warn("search indexes not maintained by the node: its database user does not own them; sends merge their pending lists instead", "err", err)
				return
			} else if err != nil {
				s.warn("search index upkeep failed", "err", err)
			}
		}
	}
}
