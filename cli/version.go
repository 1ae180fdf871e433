package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X swiftbox/cli.Version=…".
var Version = "0.1.0-dev"

// SwiftVersion is the OpenStack Swift release whose API swiftbox follows.
const SwiftVersion = "2.30.1"

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print swiftbox's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "swiftbox %s (Swift API %s, %s)\n", Version, SwiftVersion, runtime.Version())
		},
	})
}
