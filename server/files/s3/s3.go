// Package s3 is the files.Store of a large install: any S3-compatible
// service (AWS S3, MinIO, SeaweedFS, Garage, R2…) through minio-go.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parleychat/parley/server/files"
)

// Store keeps files as objects of one bucket, under a prefix.
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
}

// Parse reads PARLEY_S3_URL: s3://ACCESS_KEY:SECRET@host[:port]/bucket[/prefix],
// with ?insecure=1 for plain HTTP and ?region= when the service wants one.
func Parse(raw string) (endpoint, access, secret, bucket, prefix, region string, secure bool, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User == nil {
		return "", "", "", "", "", "", false, errors.New("want s3://ACCESS_KEY:SECRET@host[:port]/bucket[/prefix]")
	}
	secret, _ = u.User.Password()
	parts := strings.SplitN(strings.Trim(u.Path, "/"), "/", 2)
	if parts[0] == "" {
		return "", "", "", "", "", "", false, errors.New("the URL names no bucket")
	}
	bucket = parts[0]
	if len(parts) == 2 {
		prefix = strings.Trim(parts[1], "/") + "/"
	}
	return u.Host, u.User.Username(), secret, bucket, prefix, u.Query().Get("region"), u.Query().Get("insecure") != "1", nil
}

// New connects to the service of PARLEY_S3_URL and makes the bucket if it
// is missing.
func New(ctx context.Context, rawURL string) (*Store, error) {
	endpoint, access, secret, bucket, prefix, region, secure, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Secure: secure, Region: region})
	if err != nil {
		return nil, err
	}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: %w", bucket, err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}); err != nil {
			return nil, fmt.Errorf("make s3 bucket %s: %w", bucket, err)
		}
	}
	return &Store{c: c, bucket: bucket, prefix: prefix}, nil
}

func (s *Store) Name() string { return "s3" }

// Put streams the object: multipart for a large one, in parts of 5 MiB
// (the least S3 takes, so an upload buffers little).
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	info, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, r, -1, minio.PutObjectOptions{
		ContentType: "application/octet-stream", PartSize: 5 << 20,
		// a plain signed payload: services that do not decode the streaming
		// signature (some S3 look-alikes) store exactly the bytes
		DisableContentSha256: true})
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

type object struct {
	*minio.Object
	size int64
}

func (o object) Size() int64 { return o.size }

func (s *Store) Open(ctx context.Context, key string) (files.File, error) {
	o, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, files.ErrNotFound
		}
		return nil, err
	}
	return object{o, st.Size}, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	return s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
}
