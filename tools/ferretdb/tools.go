//go:build tools

// Package tools pins the FerretDB server so that
//
//	cd tools/ferretdb && go build -o ../../.cache/bin/ferretdb github.com/FerretDB/FerretDB/cmd/ferretdb
//
// builds it with exactly the versions recorded in go.mod / go.sum.
// Use scripts/ferretdb.sh build rather than calling go directly.
package tools

import (
	_ "github.com/FerretDB/FerretDB/cmd/ferretdb"
)
