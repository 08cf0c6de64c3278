# The two commands: `make run` and `make test`. Everything else serves them.
SQLC_VERSION := v1.31.1
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
GO_SRC   := $(shell find . -name '*.go' -not -path './embed/*') schema.sql server/openapi.json go.mod go.sum
UI_SRC   := $(shell find embed/src embed/public -type f) embed/index.html embed/vite.config.js embed/package.json

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run build ui test vet sqlc sqlc-diff go-test e2e clean docker

## run: build the UI if needed, build parley, and start it with zero configuration
# As root, the private database runs as the postgres user, who cannot reach a
# checkout under a 0700 directory (such as /root or a mktemp -d); then the data
# goes to /var/lib/parley instead, and this says so.
run: build
	@if [ -z "$$PARLEY_DATA_DIR" ] && [ -z "$$PARLEY_DATABASE_URL" ] && [ "$$(id -u)" = 0 ] && \
	    id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$$PWD" 2>/dev/null; then \
	  echo "make run: the postgres user cannot reach $$PWD; keeping the data in /var/lib/parley (set PARLEY_DATA_DIR to choose)"; \
	  export PARLEY_DATA_DIR=/var/lib/parley; \
	fi; exec ./parley serve

## build: the parley binary with the web UI embedded
build: parley

parley: embed/dist/index.html $(GO_SRC)
	$(GO) build -ldflags "$(LDFLAGS)" -o parley .

ui: embed/dist/index.html

embed/node_modules/.package-lock.json: embed/package-lock.json
	cd embed && npm ci --no-audit --no-fund

embed/dist/index.html: embed/node_modules/.package-lock.json $(UI_SRC)
	cd embed && npm run build

## test: vet, the sqlc freshness check, Go tests with -race, the UI build and the browser tests
test: vet sqlc-diff go-test e2e

vet: embed/dist/index.html
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

## sqlc: regenerate store/ from schema.sql and queries/
sqlc:
	$(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION) generate

sqlc-diff:
	$(GO) run github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION) diff

go-test: embed/dist/index.html
	$(GO) test -race -count=1 ./...

# the browser tests on one node, then the chat tests through nginx in front
# of two nodes in cluster mode
e2e: parley
	cd embed && node_modules/.bin/playwright test && node_modules/.bin/playwright test -c playwright.cluster.config.js

## docker: the image, with this checkout's version
docker:
	docker build --build-arg VERSION=$(VERSION) -t parley:$(VERSION) -t parley .

clean:
	rm -rf parley embed/dist embed/test-results
