package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

const (
	crashDirEnv = "GRIDBOX_STORE_CRASH_DIR" // set only in the child process
	crashPoints = 50
	crashBatch  = 1000
	crashT0     = 1_700_000_000_000
)

// crashValue is the i-th value the child writes; the parent recomputes it.
func crashValue(i int) model.Value {
	v := model.Value{
		Device: "crash", Name: fmt.Sprintf("p%02d", i%crashPoints),
		Time: crashT0 + int64(i/crashPoints), Quality: model.Good,
	}
	switch i % 7 {
	case 0:
		v.Value = "s" + strconv.Itoa(i)
	case 1:
		v.Value = i%2 == 0
	case 2:
		v.Value, v.Quality = nil, model.Stale
	case 3:
		v.Value, v.Quality = -float64(i)*0.25, model.Bad
	default:
		v.Value = float64(i) * 1.5
	}
	return v
}

// TestHelperCrashIngest is the child of TestCrashKeepsCommittedValues: it
// ingests until killed and prints "committed N" after each committed batch.
func TestHelperCrashIngest(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKeepsCommittedValues")
	}
	s, err := Open(context.Background(), Options{Path: dir})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	deadline := time.Now().Add(2 * time.Minute) // never outlive a lost parent for long
	batch := make([]model.Value, crashBatch)
	for n := 0; time.Now().Before(deadline); n += crashBatch {
		for j := range batch {
			batch[j] = crashValue(n + j)
		}
		if err := s.Write(context.Background(), batch); err != nil {
			fmt.Println("write:", err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", n+crashBatch) // unbuffered: reaches the parent at once
	}
	os.Exit(3)
}

// TestCrashKeepsCommittedValues kills an ingesting child with SIGKILL and
// checks the reopened store is intact and holds every reported value.
func TestCrashKeepsCommittedValues(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCrashIngest$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(waitLimit*3, func() { cmd.Process.Kill() }) // a stuck child ends anyway
	defer timer.Stop()
	committed, killed := 0, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		n, err := strconv.Atoi(strings.TrimPrefix(line, "committed "))
		if err != nil {
			t.Logf("child: %s", line)
			continue
		}
		committed = n
		if !killed && n >= 40*crashBatch { // mid-ingest: the child is writing the next batch
			killed = true
			if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before it was killed (%v) after %d values", err, committed)
	}
	t.Logf("child killed after reporting %d committed values (%v)", committed, err)
	checkAfterCrash(t, dir, committed)
}

func checkAfterCrash(t *testing.T, dir string, committed int) {
	s := openTest(t, Options{Path: dir})
	var ok string
	if err := s.wdb.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	n := countSamples(t, s)
	if n < committed {
		t.Fatalf("store holds %d values, child reported %d committed", n, committed)
	}
	if n%crashBatch != 0 {
		t.Fatalf("store holds %d values: part of a batch survived, transactions are not atomic", n)
	}
	for i := 0; i < committed; i += 997 {
		checkCrashValue(t, s, i)
	}
	checkCrashValue(t, s, committed-1)
}

func checkCrashValue(t *testing.T, s *Store, i int) {
	t.Helper()
	v := crashValue(i)
	got := rawHistory(t, s, v.Device, v.Name, v.Time, v.Time)
	want := []model.Sample{{Time: v.Time, Value: v.Value, Quality: v.Quality}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("value %d: got %v, want %v", i, got, want)
	}
}
