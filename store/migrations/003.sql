-- Version 2 → 3: the search indexes' pending lists are merged by the
-- nodes' upkeep, with room to wait for it (schema.sql, messages_trigrams).
ALTER INDEX messages_trigrams SET (gin_pending_list_limit = 16384);
ALTER INDEX message_words_words SET (gin_pending_list_limit = 16384);
