package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// defaultTestURL is the PostgreSQL server of the tests (CI starts it, trust auth);
// GRIDBOX_TEST_POSTGRES_URL points them elsewhere.
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func testURL() string {
	if u := os.Getenv("GRIDBOX_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return defaultTestURL
}

// dbOnce makes sure the test database exists, once per test binary.
var dbOnce struct {
	sync.Once
	err error
}

// ensureDB connects to the test database, creating it (from the
// maintenance database postgres) on a fresh server where it is missing.
func ensureDB(ctx context.Context, u string) error {
	conn, err := pgx.Connect(ctx, u)
	if err == nil {
		return conn.Close(ctx)
	}
	if !pgCode(err, "3D000") { // invalid_catalog_name: the database does not exist
		return err
	}
	p, _ := url.Parse(u)
	name := strings.TrimPrefix(p.Path, "/")
	p.Path = "/postgres"
	admin, err := pgx.Connect(ctx, p.String())
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if pgCode(err, "42P04") { // duplicate_database: another test package was quicker
		err = nil
	}
	return err
}

// PostgresSchema creates an empty schema with a random name in the test database
// and returns a URL whose search_path is that schema; the schema is dropped
// when the test ends. Parallel tests and test packages never share one.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := testURL()
	p, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GRIDBOX_TEST_POSTGRES_URL: %v", err)
	}
	host := p.Host
	if p.Port() == "" {
		host = net.JoinHostPort(p.Hostname(), "5432")
	}
	testenv.Service(t, "PostgreSQL", host)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbOnce.Do(func() { dbOnce.err = ensureDB(ctx, base) })
	if dbOnce.err != nil {
		testenv.Missing(t, "PostgreSQL test database at %s: %v", redacted(base), dbOnce.err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "gridbox_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		testenv.Missing(t, "PostgreSQL at %s: %v", redacted(base), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := p.Query()
	q.Set("search_path", schema)
	p.RawQuery = q.Encode()
	return p.String()
}

func pgCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	return p.Redacted()
}
