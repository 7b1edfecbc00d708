// compose-config: `docker compose config` without Docker. Loads a Compose file with compose-go — the
// loader docker compose itself uses — which validates it against the Compose specification, interpolates
// and normalises it, and prints the result as YAML; a file it cannot load is an error (exit 1).
//
//	compose-config [file] (default docker-compose.yml, in the current directory)
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	file := "docker-compose.yml"
	if len(os.Args) > 1 {
		file = os.Args[1]
	}
	// As docker compose: the environment, a .env file, and the profiles COMPOSE_PROFILES names.
	options, err := cli.NewProjectOptions([]string{file}, cli.WithOsEnv, cli.WithDotEnv, cli.WithDefaultProfiles())
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compose-config:", err)
	os.Exit(1)
}
