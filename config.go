package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Config is every setting of `parley serve`, from PARLEY_* variables and
// flags (flags win), validated before anything starts.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string
	PGBin           string
	AMQPURL         string
	AMQPExchange    string
	Memcached       []string
	MemcachedKeys   string
	NodeID          string
	NodeIDGenerated bool   // PARLEY_NODE_ID was not set
	LogFormat       string // text | json
	LogLevel        slog.Level
	AllowedOrigins  []string
	TrustedProxies  []netip.Prefix
	SignupOpen      bool
	SendRate        float64 // messages per second per user; 0 is unlimited
	SignupRate      float64 // sign-ups per minute per client address; 0 is unlimited
	DebugAddr       string
	MetricsAddr     string
	FileStore       string // disk | postgres | s3
	S3URL           string
	MaxUploadMB     int64
	UploadQuotaMB   int64
	LinkPreviews    bool
	FetchAllow      []netip.Prefix // test rigs only
	Push            bool
	PushContact     string
	PushHidden      bool
	PushInsecure    bool // test rigs only
	AuditDays       int64
}

// setting is one configuration variable: its flag, its environment
// variable, its default and how to check and store it.
type setting struct {
	flag, env, def, usage string
	set                   func(c *Config, v string) error
}

func settings() []setting {
	return []setting{
		{"addr", "PARLEY_ADDR", ":8080", "address to listen on (host:port)", func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return errors.New("want host:port, such as :8080 or 127.0.0.1:8080")
			}
			c.Addr = v
			return nil
		}},
		{"data-dir", "PARLEY_DATA_DIR", "./parley-data", "directory for the embedded database and other state", func(c *Config, v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
		{"database-url", "PARLEY_DATABASE_URL", "", "external PostgreSQL URL (postgres://...); empty runs a private cluster in the data directory", func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
					return errors.New("want a postgres:// URL")
				}
			}
			c.DatabaseURL = v
			return nil
		}},
		{"pg-bin", "PARLEY_PG_BIN", "", "directory of the PostgreSQL server binaries for the private cluster (default: search)", func(c *Config, v string) error {
			c.PGBin = v
			return nil
		}},
		{"amqp-url", "PARLEY_AMQP_URL", "", "RabbitMQ URL (amqp://...) for cluster mode; empty uses the in-process event bus", func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
					return errors.New("want an amqp:// or amqps:// URL")
				}
			}
			c.AMQPURL = v
			return nil
		}},
		{"amqp-exchange", "PARLEY_AMQP_EXCHANGE", "parley.events", "the RabbitMQ topic exchange; give each Parley install sharing a broker its own", func(c *Config, v string) error {
			if v == "" || len(v) > 200 {
				return errors.New("want an exchange name")
			}
			c.AMQPExchange = v
			return nil
		}},
		{"memcached-prefix", "PARLEY_MEMCACHED_PREFIX", "parley:p:", "key prefix for presence in memcached; give each install sharing a memcached its own", func(c *Config, v string) error {
			if v == "" || len(v) > 100 || strings.ContainsAny(v, " \t\r\n") {
				return errors.New("want a short prefix without spaces")
			}
			c.MemcachedKeys = v
			return nil
		}},
		{"memcached", "PARLEY_MEMCACHED", "", "comma-separated memcached host:port list for cluster presence; empty uses the in-process tracker", func(c *Config, v string) error {
			c.Memcached = nil
			for _, s := range splitList(v) {
				if _, _, err := net.SplitHostPort(s); err != nil {
					return fmt.Errorf("%q is not host:port", s)
				}
				c.Memcached = append(c.Memcached, s)
			}
			return nil
		}},
		{"node-id", "PARLEY_NODE_ID", "", "this node's unique name in a cluster (default: kept in the data directory of a single node; else hostname and a random suffix)", func(c *Config, v string) error {
			if v == "" {
				host, _ := os.Hostname()
				if host == "" || validNodeID(host) != nil {
					host = "parley"
				}
				var b [3]byte
				_, _ = rand.Read(b[:])
				v = host + "-" + hex.EncodeToString(b[:])
				c.NodeIDGenerated = true
			}
			if err := validNodeID(v); err != nil {
				return err
			}
			c.NodeID = v
			return nil
		}},
		{"log-format", "PARLEY_LOG_FORMAT", "", "text or json (default: text on a terminal, json otherwise)", func(c *Config, v string) error {
			switch v {
			case "text", "json":
			case "":
				v = "json"
				if isTerminal(os.Stderr) {
					v = "text"
				}
			default:
				return errors.New("want text or json")
			}
			c.LogFormat = v
			return nil
		}},
		{"log-level", "PARLEY_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
			levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
			l, ok := levels[strings.ToLower(v)]
			if !ok {
				return errors.New("want debug, info, warn or error")
			}
			c.LogLevel = l
			return nil
		}},
		{"allowed-origins", "PARLEY_ALLOWED_ORIGINS", "", "comma-separated extra origins (scheme://host[:port]) allowed to make cookie requests", func(c *Config, v string) error {
			c.AllowedOrigins = nil
			for _, s := range splitList(v) {
				u, err := url.Parse(s)
				if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
					return fmt.Errorf("%q is not an origin such as https://chat.example.com", s)
				}
				c.AllowedOrigins = append(c.AllowedOrigins, strings.TrimSuffix(s, "/"))
			}
			return nil
		}},
		{"trusted-proxies", "PARLEY_TRUSTED_PROXIES", "", "comma-separated proxy IPs or CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed", func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, s := range splitList(v) {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					a, aerr := netip.ParseAddr(s)
					if aerr != nil {
						return fmt.Errorf("%q is not an IP address or CIDR", s)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				c.TrustedProxies = append(c.TrustedProxies, p.Masked())
			}
			return nil
		}},
		{"send-rate", "PARLEY_SEND_RATE", "10", "messages per second each user may send (a burst of 3 s worth); 0 disables the limit (benchmarks)", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				return errors.New("want a number of messages per second, 0 for no limit")
			}
			c.SendRate = f
			return nil
		}},
		{"signup-rate", "PARLEY_SIGNUP_RATE", "1", "sign-ups per minute from one client address, after a burst of 10; 0 disables the limit (test rigs)", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				return errors.New("want a number of sign-ups per minute, 0 for no limit")
			}
			c.SignupRate = f
			return nil
		}},
		{"debug-addr", "PARLEY_DEBUG_ADDR", "", "opt-in listener for pprof (/debug/pprof/), such as 127.0.0.1:6060; keep it private", func(c *Config, v string) error {
			if v != "" {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return errors.New("want host:port")
				}
			}
			c.DebugAddr = v
			return nil
		}},
		{"metrics-addr", "PARLEY_METRICS_ADDR", "", "a listener of its own for /metrics, such as :9100; without it the main port serves /metrics to loopback clients only", func(c *Config, v string) error {
			if v != "" {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return errors.New("want host:port")
				}
			}
			c.MetricsAddr = v
			return nil
		}},
		{"files", "PARLEY_FILES", "", "where file bytes go: disk (in the data directory), postgres (in the database) or s3 (PARLEY_S3_URL); default disk on a single node, postgres in cluster mode, s3 with PARLEY_S3_URL", func(c *Config, v string) error {
			switch v {
			case "", "disk", "postgres", "s3":
				c.FileStore = v
				return nil
			}
			return errors.New("want disk, postgres or s3")
		}},
		{"s3-url", "PARLEY_S3_URL", "", "an S3-compatible store for files: s3://ACCESS_KEY:SECRET@host[:port]/bucket[/prefix] (?insecure=1 for plain HTTP, ?region=)", func(c *Config, v string) error {
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || u.Scheme != "s3" || u.Host == "" || u.User == nil || strings.Trim(u.Path, "/") == "" {
					return errors.New("want s3://ACCESS_KEY:SECRET@host[:port]/bucket[/prefix]")
				}
			}
			c.S3URL = v
			return nil
		}},
		{"max-upload-mb", "PARLEY_MAX_UPLOAD_MB", "25", "the largest file one may upload, in MiB", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || n > 10240 {
				return errors.New("want 1 to 10240 (MiB)")
			}
			c.MaxUploadMB = n
			return nil
		}},
		{"audit-days", "PARLEY_AUDIT_DAYS", "365", "how many days the audit log keeps an entry", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || n > 36500 {
				return errors.New("want 1 to 36500 (days)")
			}
			c.AuditDays = n
			return nil
		}},
		{"upload-quota-mb", "PARLEY_UPLOAD_QUOTA_MB", "2048", "how much each user's files may take in all, in MiB; 0 for no quota", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return errors.New("want a number of MiB, 0 for no quota")
			}
			c.UploadQuotaMB = n
			return nil
		}},
		{"link-previews", "PARLEY_LINK_PREVIEWS", "on", "on: the server fetches previews of links in messages (never private addresses); off: never", func(c *Config, v string) error {
			switch v {
			case "on", "off":
				c.LinkPreviews = v == "on"
				return nil
			}
			return errors.New("want on or off")
		}},
		{"test-fetch-allow", "PARLEY_TEST_FETCH_ALLOW", "", "test rigs only: addresses (CIDRs) the link preview fetcher may reach although they are private", func(c *Config, v string) error {
			c.FetchAllow = nil
			for _, s := range splitList(v) {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					return fmt.Errorf("%q is not a CIDR", s)
				}
				c.FetchAllow = append(c.FetchAllow, p)
			}
			return nil
		}},
		{"push", "PARLEY_PUSH", "on", "on: Web Push notifications to browsers with the tab closed; off: none", func(c *Config, v string) error {
			switch v {
			case "on", "off":
				c.Push = v == "on"
				return nil
			}
			return errors.New("want on or off")
		}},
		{"push-contact", "PARLEY_PUSH_CONTACT", "", "where push services can reach you: a mailto: or https: URL (Apple's refuses localhost)", func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "mailto:") && !strings.HasPrefix(v, "https://") {
				return errors.New("want a mailto: or https:// URL")
			}
			c.PushContact = v
			return nil
		}},
		{"push-content", "PARLEY_PUSH_CONTENT", "shown", "shown: a push carries the sender and the text; hidden: only the conversation", func(c *Config, v string) error {
			switch v {
			case "shown", "hidden":
				c.PushHidden = v == "hidden"
				return nil
			}
			return errors.New("want shown or hidden")
		}},
		{"push-allow-insecure", "PARLEY_PUSH_ALLOW_INSECURE", "0", "test rigs only: 1 lets push endpoints be http and on private addresses", func(c *Config, v string) error {
			switch v {
			case "0", "1":
				c.PushInsecure = v == "1"
				return nil
			}
			return errors.New("want 0 or 1")
		}},
		{"signup", "PARLEY_SIGNUP", "open", "open: anyone may sign up; closed: accounts come from `parley user create`", func(c *Config, v string) error {
			switch v {
			case "open", "closed":
				c.SignupOpen = v == "open"
				return nil
			}
			return errors.New("want open or closed")
		}},
	}
}

// parseConfig reads the environment, then args (flags win), and validates
// every value. An error names the variable and the flag at fault.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("parley serve", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	values := map[string]*string{}
	list := settings()
	for _, s := range list {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		values[s.flag] = fs.String(s.flag, v, fmt.Sprintf("%s (%s)", s.usage, s.env))
	}
	fs.Usage = func() {
		fmt.Fprintln(usageOut, "Usage: parley serve [flags]\n\nEvery flag can also be set by its PARLEY_* environment variable; flags win.\n\nSettings:")
		for _, s := range list {
			def := s.def
			if def == "" {
				def = "(none)"
			}
			fmt.Fprintf(usageOut, "  --%-16s %-24s default %s\n      %s\n", s.flag, s.env, def, s.usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range list {
		if err := s.set(&c, strings.TrimSpace(*values[s.flag])); err != nil {
			return c, fmt.Errorf("invalid %s (--%s) %q: %v", s.env, s.flag, *values[s.flag], err)
		}
	}
	switch {
	case c.FileStore == "s3" && c.S3URL == "":
		return c, errors.New("PARLEY_FILES=s3 needs PARLEY_S3_URL")
	case c.FileStore == "" && c.S3URL != "":
		c.FileStore = "s3"
	case c.FileStore == "" && c.AMQPURL != "":
		c.FileStore = "postgres" // every node reads every file, with nothing more to run
	case c.FileStore == "":
		c.FileStore = "disk"
	}
	if c.AMQPURL != "" && c.FileStore == "disk" {
		return c, errors.New("PARLEY_FILES=disk keeps files on one node: in cluster mode use postgres or s3")
	}
	if c.AMQPURL != "" && (len(c.Memcached) == 0 || c.DatabaseURL == "") {
		return c, errors.New("cluster mode (PARLEY_AMQP_URL) also needs PARLEY_MEMCACHED and an external PARLEY_DATABASE_URL shared by every node")
	}
	return c, nil
}

// validNodeID checks a node's name: it is part of RabbitMQ names and keys.
func validNodeID(v string) error {
	if v == "" || len(v) > 64 || strings.ContainsAny(v, " \t\n.*#") {
		return errors.New("want 1 to 64 characters without spaces, '.', '*' or '#'")
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
