// Command ksherdash runs the ksherdash dashboard (the default), or one of its
// subcommands: migrate, user create, sandbox.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones work in minimal containers too
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ksherdash: "+err.Error())
		var ce *ConfigError
		var ue *usageError
		if errors.As(err, &ce) || errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
