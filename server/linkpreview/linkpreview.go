// Package linkpreview fetches what a link preview shows: a page's title,
// description, site name and image, read with a real HTML parser. Every
// connection it makes goes through a guard (code.dny.dev/ssrf) that
// checks the address actually dialled, after DNS and on every redirect:
// no loopback, private, link-local, CGNAT, multicast, reserved or
// IPv4-mapped/NAT64 address, only ports 80 and 443, no proxy from the
// environment. A page is text/html of at most 1 MiB, an image at most
// 5 MiB, each fetched within 5 s and at most 5 redirects.
package linkpreview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	"github.com/gabriel-vasile/mimetype"
	"golang.org/x/net/html"

	"github.com/parleychat/parley/server/chat"
)

const (
	maxPage      = 1 << 20
	maxImage     = 5 << 20
	fetchTimeout = 5 * time.Second
	maxRedirects = 5
)

// Fetcher is a chat.Previewer.
type Fetcher struct{ client *http.Client }

// New returns a fetcher whose guard also lets through allow (test rigs
// only: the tests' own page server on 127.0.0.1, on any port).
func New(allow ...netip.Prefix) *Fetcher {
	opts := []ssrf.Option{}
	if len(allow) > 0 {
		var v4, v6 []netip.Prefix
		for _, p := range allow {
			if p.Addr().Is4() {
				v4 = append(v4, p)
			} else {
				v6 = append(v6, p)
			}
		}
		opts = append(opts, ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...), ssrf.WithAnyPort())
	}
	guard := ssrf.New(opts...)
	dialer := &net.Dialer{Timeout: fetchTimeout, Control: guard.Safe}
	transport := &http.Transport{
		Proxy:                 nil, // never a proxy from the environment: it would dial for us
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   fetchTimeout,
		ResponseHeaderTimeout: fetchTimeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   fetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return errors.New("a redirect away from http")
			}
			return nil // the new address is dialled through the guard too
		},
	}
	return &Fetcher{client: client}
}

var _ chat.Previewer = (*Fetcher)(nil)

func (f *Fetcher) get(ctx context.Context, raw string, accept string, limit int64) ([]byte, string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("not an http(s) URL: %q", raw)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("User-Agent", "Parley link preview (+https://github.com/parleychat/parley)")
	req.Header.Set("Accept", accept)
	res, err := f.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%s answered %s", u.Host, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(body)) > limit {
		return nil, "", errors.New("too large")
	}
	ctype, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	return body, ctype, nil
}

// Page reads a page's OpenGraph tags, or its <title>.
func (f *Fetcher) Page(ctx context.Context, raw string) (chat.PagePreview, error) {
	body, ctype, err := f.get(ctx, raw, "text/html", maxPage)
	if err != nil {
		return chat.PagePreview{}, err
	}
	if ctype != "text/html" {
		return chat.PagePreview{}, fmt.Errorf("not a page but %s", ctype)
	}
	p := parse(body)
	if p.Image != "" { // relative to the page
		if base, err := url.Parse(raw); err == nil {
			if img, err := base.Parse(p.Image); err == nil {
				p.Image = img.String()
			}
		}
	}
	return p, nil
}

// Image fetches a preview image; its type is told from its bytes.
func (f *Fetcher) Image(ctx context.Context, raw string) ([]byte, string, error) {
	body, _, err := f.get(ctx, raw, "image/*", maxImage)
	if err != nil {
		return nil, "", err
	}
	return body, mimetype.Detect(body).String(), nil
}

// parse reads the preview fields of an HTML document.
func parse(doc []byte) chat.PagePreview {
	var p chat.PagePreview
	var title string
	z := html.NewTokenizer(strings.NewReader(string(doc)))
	inTitle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if p.Title == "" {
				p.Title = title
			}
			return clip(p)
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			switch t.Data {
			case "title":
				inTitle = title == ""
			case "meta":
				var key, content string
				for _, a := range t.Attr {
					switch a.Key {
					case "property", "name":
						key = strings.ToLower(a.Val)
					case "content":
						content = strings.TrimSpace(a.Val)
					}
				}
				switch key {
				case "og:title":
					p.Title = content
				case "og:description":
					p.Description = content
				case "description":
					if p.Description == "" {
						p.Description = content
					}
				case "og:site_name":
					p.SiteName = content
				case "og:image", "og:image:url":
					if p.Image == "" {
						p.Image = content
					}
				}
			case "body":
				if p.Title == "" {
					p.Title = title
				}
				return clip(p)
			}
		case html.TextToken:
			if inTitle {
				title += string(z.Text())
			}
		case html.EndTagToken:
			if z.Token().Data == "title" {
				inTitle = false
				title = strings.TrimSpace(title)
			}
		}
	}
}

func clip(p chat.PagePreview) chat.PagePreview {
	cut := func(s string, n int) string {
		s = strings.Join(strings.Fields(s), " ")
		if r := []rune(s); len(r) > n {
			return string(r[:n-1]) + "…"
		}
		return s
	}
	return chat.PagePreview{Title: cut(p.Title, 200), Description: cut(p.Description, 300), SiteName: cut(p.SiteName, 100), Image: p.Image}
}
