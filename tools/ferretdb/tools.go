//go:build tools

// Package tools pins the FerretDB server (github.com/FerretDB/FerretDB, see go.mod; go.sum
// holds the checksums of the module and of all its dependencies).
//
// Build it with `scripts/ferretdb.sh build`, not with `go build` / `go install` directly:
// upstream cmd/ferretdb panics at start-up ("Invalid build/version/version.txt file content")
// unless the generated build/version/version.txt is present, and that file is not part of the
// published module. The script downloads the module through this go.mod (so it is checked
// against go.sum), copies its source, adds version.txt and builds cmd/ferretdb from the copy.
package tools

import (
	_ "github.com/FerretDB/FerretDB/cmd/ferretdb"
)
