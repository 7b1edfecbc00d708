// ferretdb: FerretDB v1 (MongoDB wire protocol) for local runs and tests, through FerretDB's embeddable
// package. Upstream's cmd/ferretdb panics at start-up when built from the module proxy (its generated
// build/version/version.txt is not published); the embeddable package skips that check.
//
//	FERRETDB_POSTGRESQL_URL='postgres://postgres@127.0.0.1:5432/ferretdb?pool_max_conns=20' ferretdb -listen-addr 127.0.0.1:27017 -handler postgresql
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "sqlite", "backend: sqlite or postgresql")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory (sqlite handler)")
	postgresqlURL := flag.String("postgresql-url", "", "PostgreSQL URL (postgresql handler; default $FERRETDB_POSTGRESQL_URL)")
	flag.Parse()
	// From the environment when not given, as upstream's ferretdb reads it: a URL with a password on the command
	// line is shown by ps to every local user (and as a flag default, in the usage text a bad flag prints).
	if *postgresqlURL == "" {
		*postgresqlURL = os.Getenv("FERRETDB_POSTGRESQL_URL")
	}

	// Embedded, FerretDB reports its version as "unknown"; buildInfo should name the pinned one.
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/FerretDB/FerretDB" {
				version.Get().Version = dep.Version
			}
		}
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Handler:       *handler,
		SQLiteURL:     *sqliteURL,
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "ferretdb %s listening on %s (%s)\n", version.Get().Version, *listen, *handler)
	f.Run(ctx)
}
