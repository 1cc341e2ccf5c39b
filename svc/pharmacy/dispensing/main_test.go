package dispensing_test

import (
	"os"
	"testing"

	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }
