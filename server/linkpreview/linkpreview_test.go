package linkpreview

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const page = `<!doctype html><html><head>
<title> The   plain title </title>
<meta property="og:title" content="An OpenGraph title">
<meta property="og:description" content="What the page is about.">
<meta name="description" content="The other description">
<meta property="og:site_name" content="Example Site">
<meta property="og:image" content="/img/card.png">
</head><body><meta property="og:title" content="too late"></body></html>`

func serve(t *testing.T, addr string, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s.URL
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParse(t *testing.T) {
	p := parse([]byte(page))
	if p.Title != "An OpenGraph title" || p.Description != "What the page is about." || p.SiteName != "Example Site" || p.Image != "/img/card.png" {
		t.Fatalf("parsed %+v", p)
	}
	p = parse([]byte(`<html><head><title>Only a
	title</title><meta name="description" content="plain description"></head><body>x</body></html>`))
	if p.Title != "Only a title" || p.Description != "plain description" || p.Image != "" {
		t.Fatalf("parsed %+v", p)
	}
	long := strings.Repeat("é", 500)
	p = parse([]byte(`<title>` + long + `</title>`))
	if n := len([]rune(p.Title)); n != 200 || !strings.HasSuffix(p.Title, "…") {
		t.Fatalf("title of %d runes", n)
	}
	if p := parse([]byte("\x00\xff<<<not html")); p.Title != "" {
		t.Fatalf("garbage parsed to %+v", p)
	}
}

// The test server lives on 127.0.0.1, which the guard refuses unless the
// rig allows it: a fetcher without that allowance must not reach it, by
// address, by name or through a redirect from an allowed server.
func TestGuardRefusesPrivateAddresses(t *testing.T) {
	hits := 0
	private := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	strict := New()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(private, "http://"))
	for _, u := range []string{
		private,
		"http://localhost:" + port + "/",
		"http://[::1]:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://127.0.0.1/",
		"http://10.1.2.3/",
		"http://192.168.1.1/",
		"http://172.16.0.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/",
		"http://0.0.0.0/",
		"http://[fe80::1]/",
		"http://[fc00::1]/",
		"http://[64:ff9b::7f00:1]/",
		"http://93.184.216.34:8080/", // a public address, but not port 80 or 443
		"ftp://example.com/",
		"file:///etc/passwd",
		"not a url",
	} {
		if _, err := strict.Page(ctx, u); err == nil {
			t.Errorf("fetched %s", u)
		}
	}
	if _, _, err := strict.Image(ctx, private+"/x.png"); err == nil {
		t.Error("fetched an image from a private address")
	}

	// A server the rig allows (127.0.0.2) that redirects to one it does not.
	allowed := New(netip.MustParsePrefix("127.0.0.2/32"))
	redirector := serve(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, private+"/", http.StatusFound)
	}))
	if _, err := allowed.Page(ctx, redirector); err == nil {
		t.Error("followed a redirect to a private address")
	}
	if hits != 0 {
		t.Fatalf("the private server was reached %d times", hits)
	}
}

func TestFetch(t *testing.T) {
	img := pngBytes(t)
	redirects := 0
	base := ""
	base = serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, page)
		case "/moved":
			http.Redirect(w, r, "/", http.StatusMovedPermanently)
		case "/loop":
			redirects++
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/img/card.png":
			w.Header().Set("Content-Type", "text/plain") // the bytes decide
			w.Write(img)
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"title":"no"}`)
		case "/huge":
			w.Header().Set("Content-Type", "text/html")
			w.Write(bytes.Repeat([]byte("a"), maxPage+10))
		case "/slow":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(2 * fetchTimeout):
			}
		case "/gone":
			http.NotFound(w, r)
		}
	}))
	f := New(netip.MustParsePrefix("127.0.0.0/8"))
	ctx := context.Background()

	p, err := f.Page(ctx, base+"/moved")
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "An OpenGraph title" || p.Image != base+"/img/card.png" {
		t.Fatalf("page %+v", p)
	}
	body, ctype, err := f.Image(ctx, p.Image)
	if err != nil || ctype != "image/png" || !bytes.Equal(body, img) {
		t.Fatalf("image %q %v", ctype, err)
	}
	for _, path := range []string{"/json", "/huge", "/gone", "/loop"} {
		if _, err := f.Page(ctx, base+path); err == nil {
			t.Errorf("%s gave a preview", path)
		}
	}
	if redirects > maxRedirects {
		t.Errorf("followed %d redirects", redirects)
	}
	start := time.Now()
	if _, err := f.Page(ctx, base+"/slow"); err == nil {
		t.Error("a page that never ends gave a preview")
	}
	if d := time.Since(start); d > fetchTimeout+3*time.Second {
		t.Errorf("a stalled page held the fetch for %v", d)
	}
}
