// Command swiftbox is a whole OpenStack Swift cluster in one binary.
package main

import "swiftbox/cli"

func main() { cli.Execute() }
