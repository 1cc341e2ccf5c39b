package testkit

import (
	"os"
	"testing"
)

// TestMain stops what the shared helpers started once the package's tests end.
func TestMain(m *testing.M) { os.Exit(Main(m)) }
