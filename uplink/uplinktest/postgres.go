package uplinktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// adminURL is the test server's maintenance database (CI starts PostgreSQL
// with trust auth); GRIDBOX_TEST_POSTGRES_ADMIN_URL points elsewhere.
func adminURL() string {
	if u := os.Getenv("GRIDBOX_TEST_POSTGRES_ADMIN_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// PostgresDB creates a private database, dropped at the end of the test,
// and returns its URL.
func PostgresDB(t testing.TB) string {
	t.Helper()
	testenv.Service(t, "postgresql", "127.0.0.1:5432")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		testenv.Missing(t, "postgresql: %v", err)
		return ""
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "gridbox_t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL())
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, _ := pgx.ParseConfig(adminURL())
	cfg.Database = name
	return "postgres://" + cfg.User + "@" + cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + name + "?sslmode=disable"
}
