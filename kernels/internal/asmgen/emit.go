package main

import (
	"fmt"
	"strings"
)

// asm accumulates the text of one assembly file. Every emitter takes the
// *asm it writes to; there is no other state.
type asm struct {
	b     strings.Builder
	funcs []goFunc // the functions written, in order (for the Go declarations)
}

// op writes one instruction line: a tab, then the formatted instruction.
func (a *asm) op(format string, args ...any) {
	fmt.Fprintf(&a.b, "\t"+format+"\n", args...)
}

// label writes a jump target.
func (a *asm) label(name string) { fmt.Fprintf(&a.b, "%s:\n", name) }

// comment writes lines as top-level // comments (an empty line gives a
// bare //). Comments inside a function body go through op("// ...").
func (a *asm) comment(lines ...string) {
	for _, l := range lines {
		if l == "" {
			a.b.WriteString("//\n")
			continue
		}
		fmt.Fprintf(&a.b, "// %s\n", l)
	}
}

// line writes raw text (DATA and GLOBL directives) followed by a newline.
func (a *asm) line(format string, args ...any) { fmt.Fprintf(&a.b, format+"\n", args...) }

// blank writes an empty line.
func (a *asm) blank() { a.b.WriteString("\n") }

// countedLoop emits a loop over CX units of work, n units per iteration:
//
//	name:
//		CMPQ CX, $n  (TESTQ CX, CX when n = 1)
//		JLT  exit    (JEQ exit)
//		body
//		ADDQ $bytes, reg   for each step
//		SUBQ $n, CX  (DECQ CX)
//		JMP  name
//
// It is the shape of every streaming loop of the vector kernels.
func (a *asm) countedLoop(name, exit string, n int, steps []ptrStep, body func()) {
	a.label(name)
	if n == 1 {
		a.op("TESTQ CX, CX")
		a.op("JEQ   %s", exit)
	} else {
		a.op("CMPQ CX, $%d", n)
		a.op("JLT  %s", exit)
	}
	body()
	for _, s := range steps {
		a.op("ADDQ $%d, %s", s.bytes, s.reg)
	}
	if n == 1 {
		a.op("DECQ CX")
	} else {
		a.op("SUBQ $%d, CX", n)
	}
	a.op("JMP  %s", name)
}

// ptrStep advances pointer register reg by bytes after each iteration.
type ptrStep struct {
	reg   string
	bytes int
}

// steps returns a ptrStep of bytes for each register.
func steps(bytes int, regs ...string) []ptrStep {
	s := make([]ptrStep, len(regs))
	for i, r := range regs {
		s[i] = ptrStep{r, bytes}
	}
	return s
}

// goFunc is an assembly function with its Go declaration. From the Go
// signature it derives the argument frame (ABI0: arguments in order, each
// aligned to its size, results after them at pointer alignment), the TEXT
// directive and the FP names of the arguments, so that no offset is written
// by hand.
type goFunc struct {
	name    string   // Go name
	params  string   // Go parameter list, "k int, a *float32"
	result  string   // Go result type, "" for none
	frame   int      // local frame in bytes (0: leaf without locals)
	splits  bool     // TEXT flags 0 (stack check) instead of NOSPLIT
	doc     []string // comment lines above the Go declaration
	asmNote []string // extra comment lines above TEXT in the .s file
}

// param is one parameter: its name, Go type, and offset in the frame.
type param struct {
	name, typ string
	off       int
}

// typeSize returns the size and alignment of the Go types the kernels take.
func typeSize(typ string) (size, align int) {
	switch {
	case strings.HasPrefix(typ, "[]"):
		return 24, 8
	case strings.HasPrefix(typ, "*"), typ == "int", typ == "uintptr":
		return 8, 8
	case typ == "float32":
		return 4, 4
	}
	panic("asmgen: unsupported parameter type " + typ)
}

// layout returns the parameters with their offsets, the result's offset
// and the total argument size.
func (f goFunc) layout() (ps []param, resultOff, argSize int) {
	var pending []string // names waiting for their type ("x, y []float32")
	off := 0
	for _, field := range strings.Split(f.params, ",") {
		parts := strings.Fields(field)
		if len(parts) == 1 {
			pending = append(pending, parts[0])
			continue
		}
		typ := strings.Join(parts[1:], " ")
		for _, name := range append(pending, parts[0]) {
			size, align := typeSize(typ)
			off = (off + align - 1) / align * align
			ps = append(ps, param{name, typ, off})
			off += size
		}
		pending = nil
	}
	if f.result == "" {
		return ps, -1, off
	}
	off = (off + 7) / 8 * 8
	size, _ := typeSize(f.result)
	return ps, off, off + size
}

// arg returns the FP operand of a parameter: "lda+16(FP)"; for a slice
// parameter x, "x_base", "x_len" and "x_cap" name its three words; "ret"
// is the result.
func (f goFunc) arg(name string) string {
	ps, resultOff, _ := f.layout()
	if name == "ret" && resultOff >= 0 {
		return fmt.Sprintf("ret+%d(FP)", resultOff)
	}
	for _, p := range ps {
		if p.name == name {
			return fmt.Sprintf("%s+%d(FP)", name, p.off)
		}
		for w, suffix := range []string{"_base", "_len", "_cap"} {
			if strings.HasPrefix(p.typ, "[]") && name == p.name+suffix {
				return fmt.Sprintf("%s+%d(FP)", name, p.off+8*w)
			}
		}
	}
	panic("asmgen: " + f.name + " has no parameter " + name)
}

// signature is the Go form "name(params) result".
func (f goFunc) signature() string {
	s := fmt.Sprintf("%s(%s)", f.name, f.params)
	if f.result != "" {
		s += " " + f.result
	}
	return s
}

// text writes the function's comment and TEXT directive.
func (a *asm) text(f goFunc) {
	a.funcs = append(a.funcs, f)
	a.comment("func " + f.signature())
	a.comment(f.asmNote...)
	_, _, argSize := f.layout()
	flags := "NOSPLIT"
	if f.splits {
		flags = "0"
	}
	a.line("TEXT ·%s(SB), %s, $%d-%d", f.name, flags, f.frame, argSize)
}
