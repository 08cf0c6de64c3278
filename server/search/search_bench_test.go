package search_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/server/search"
	"github.com/parleychat/parley/store/storetest"
)

// BenchmarkSearch: 1 million messages across 1,000 conversations, a user
// in 50 of them; p99 of a two-word query, a prefix and a CJK substring
// (docs/benchmarks.md), for terms in about 1% of messages and in 0.02%.
// PARLEY_BENCH_EXPLAIN=1 prints the plans (run with -v).
//
//	go test -run XXX -bench Search -benchtime 100x ./server/search/
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	db := storetest.New(b)
	users := storetest.SeedUsers(b, db, "u", 2)
	me, other := users[0], users[1]
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO conversations (kind, direct_key) SELECT 'direct', 'k' || i FROM generate_series(1, 1000) i`,
		fmt.Sprintf(`INSERT INTO members (conversation_id, user_id) SELECT id, %d FROM conversations`, other),
		fmt.Sprintf(`INSERT INTO members (conversation_id, user_id) SELECT id, %d FROM conversations ORDER BY id LIMIT 50`, me),
		// bodies of 8 words from 400 (English-like) and a Chinese phrase from 40
		fmt.Sprintf(`WITH w AS (SELECT array_agg('w' || md5(i::text)::text) AS words FROM generate_series(1, 400) i),
			zh AS (SELECT ARRAY['部署服务器','数据库迁移','前端页面','测试通过','发布版本','性能优化','代码审查','需求文档',
				'用户反馈','系统监控','日志分析','接口设计','缓存失效','网络延迟','安全漏洞','权限管理','消息队列','任务调度',
				'配置文件','备份恢复','负载均衡','容器编排','持续集成','单元测试','集成测试','错误处理','异常报警','版本回滚',
				'灰度发布','服务降级','限流熔断','数据同步','文件上传','图片压缩','视频转码','搜索索引','推送通知','支付回调',
				'订单状态','库存扣减'] AS p)
			INSERT INTO messages (conversation_id, seq, sender_id, client_id, body)
			SELECT (i %% 1000) + 1, i / 1000 + 1, %d, i::text,
			       CASE WHEN i %% 97 = 0 THEN 'deploy the server ' ELSE '' END ||
			       CASE WHEN i %% 89 = 0 THEN 'deployment notes ' ELSE '' END ||
			       CASE WHEN i %% 4999 = 0 THEN 'kubernetes upgrade ' ELSE '' END ||
			       CASE WHEN i %% 5003 = 0 THEN '灰度回滚演练 ' ELSE '' END ||
			       (SELECT string_agg(w.words[1 + ((i::bigint * k * 7919) %% 400)::int], ' ') FROM generate_series(1, 8) k) || ' ' ||
			       zh.p[1 + (i * 31 %% 40)]
			FROM generate_series(0, 999999) i, w, zh`, other),
		// what SendMessage writes beside each message
		`INSERT INTO message_words (message_id, conversation_id, seq, sender_id, words)
		 SELECT id, conversation_id, seq, sender_id, to_tsvector('simple', body) FROM messages`,
		`UPDATE conversations c SET last_seq = 1000`,
		`ANALYZE`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded 1,000,000 messages in %s", time.Since(start).Round(time.Second))
	eng := search.NewPostgres(db.Pool)
	for _, c := range []struct{ name, q string }{
		{"two-words", "deploy server"},
		{"prefix", "deplo"},
		{"cjk", "服务器"},
		// rare terms: the planner goes through the GIN indexes
		{"rare-prefix", "kuber"},
		{"rare-cjk", "回滚演练"},
		{"rare-two-words", "kubernetes upgrade"},
	} {
		terms, err := search.Parse(c.q)
		if err != nil {
			b.Fatal(err)
		}
		q := search.Query{UserID: me, Terms: terms, Limit: 20}
		if os.Getenv("PARLEY_BENCH_EXPLAIN") != "" {
			plan, err := search.Explain(ctx, db.Pool, q)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s:\n%s", c.name, strings.Join(plan, "\n"))
		}
		b.Run(c.name, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			var hits int
			for b.Loop() {
				t0 := time.Now()
				ids, _, err := eng.Search(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
				hits = len(ids)
			}
			if hits == 0 {
				b.Fatal("no hits")
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
