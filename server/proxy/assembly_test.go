package proxy

// assembled are the filters built outside the core (server.Filters), so
// this package's tests run the whole pipeline as before the middlewares
// moved out. The core's own tests cannot import the assembly (it imports
// the core); the external test package can, and sets them
// (assembly_ext_test.go).
var assembled []Filter

// SetAssembled is for assembly_ext_test.go.
func SetAssembled(f []Filter) { assembled = f }
