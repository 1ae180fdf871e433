// Package cli holds swiftbox's cobra commands: one file per subcommand,
// each only parsing flags and wiring packages together.
package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:           "swiftbox",
	Short:         "A whole OpenStack Swift cluster (Swift and S3 APIs) in one binary",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// Execute runs the command line and exits non-zero on error.
func Execute() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "swiftbox:", err)
		os.Exit(1)
	}
}
