package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/parleychat/parley/backup"
	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/store"
)

// exportCmd is `parley export --out FILE`: the whole install as one
// archive (package backup), with a progress line on a terminal.
func exportCmd(args []string, stdout, stderr io.Writer) error {
	var out, fileStore, s3URL *string
	var passwords *bool
	var fset *flag.FlagSet
	db, closeFn, pos, err := storeCmd("export", args, stderr, func(f *flag.FlagSet) {
		fset = f
		out = f.String("out", "", "the archive to write (- for standard output)")
		passwords = f.Bool("passwords", false, "keep password hashes (else every account needs `parley user reset-password` after an import)")
		fileStore, s3URL = fileFlags(f)
	})
	if err != nil {
		return err
	}
	defer closeFn()
	if *out == "" || len(pos) != 0 {
		return errors.New("usage: parley export --out FILE [--passwords]")
	}
	fs, err := openFiles(db, fset, *fileStore, *s3URL)
	if err != nil {
		return err
	}
	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		// a new file only: an export never overwrites one
		if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return err
		}
		w = f
	}
	err = backup.Export(context.Background(), db, fs, w, backup.Options{Passwords: *passwords, Version: version, Progress: progressLine(stderr)})
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out)
		}
	}
	if err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(stdout, "exported to %s\n", *out)
	}
	return nil
}

// importCmd is `parley import FILE`: an archive restored into an install
// with no accounts.
func importCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var fileStore, s3URL *string
	var fset *flag.FlagSet
	db, closeFn, pos, err := storeCmd("import", args, stderr, func(f *flag.FlagSet) {
		fset = f
		fileStore, s3URL = fileFlags(f)
	})
	if err != nil {
		return err
	}
	defer closeFn()
	if len(pos) != 1 {
		return errors.New("usage: parley import FILE (- for standard input)")
	}
	fs, err := openFiles(db, fset, *fileStore, *s3URL)
	if err != nil {
		return err
	}
	r := stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	m, err := backup.Import(context.Background(), db, fs, r, progressLine(stderr))
	if errors.Is(err, store.ErrNotEmpty) {
		return errors.New("this install has accounts already: import into a new data directory or an empty database")
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d users, %d conversations, %d messages and %d files\n",
		m.Tables["users"], m.Tables["conversations"], m.Tables["messages"], m.Blobs)
	return nil
}

// fileFlags are the file store's settings, as serve takes them.
func fileFlags(f *flag.FlagSet) (fileStore, s3URL *string) {
	return f.String("files", os.Getenv("PARLEY_FILES"), "the file store: disk, postgres or s3 (PARLEY_FILES; as serve picks it when unset)"),
		f.String("s3-url", os.Getenv("PARLEY_S3_URL"), "the S3-compatible store (PARLEY_S3_URL)")
}

// openFiles opens the file store serve would use with these settings.
func openFiles(db *store.DB, fset *flag.FlagSet, fileStore, s3URL string) (files.Store, error) {
	cfg := Config{DataDir: fset.Lookup("data-dir").Value.String(), FileStore: fileStore, S3URL: s3URL}
	switch {
	case cfg.FileStore == "" && cfg.S3URL != "":
		cfg.FileStore = "s3"
	case cfg.FileStore == "" && os.Getenv("PARLEY_AMQP_URL") != "":
		cfg.FileStore = "postgres"
	case cfg.FileStore == "":
		cfg.FileStore = "disk"
	}
	var o server.Options
	if err := fileOptions(context.Background(), cfg, db, &o); err != nil {
		return nil, err
	}
	return o.Files, nil
}

// progressLine shows an export's or an import's progress on a terminal,
// one line redrawn at most ten times a second; elsewhere nothing.
func progressLine(w io.Writer) backup.Progress {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	var last time.Time
	return func(what string, done, total int64) {
		if time.Since(last) < 100*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		const width = 30
		fill := width
		if total > 0 {
			fill = int(done * width / total)
		}
		fmt.Fprintf(w, "\r%-18s [%-*s] %d/%d ", what, width, strings.Repeat("#", fill), done, total)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
