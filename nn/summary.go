package nn

import (
	"fmt"
	"io"
	"strings"
)

// Summary prints the model the way Keras 2's model.summary(show_trainable=True)
// does: one row per layer with "name (Type)", output shape with None for the
// batch axis, parameter count and Y/N for trainable, then the Total,
// Trainable and Non-trainable parameter counts.
func (m *Model) Summary(w io.Writer) {
	cols := []int{29, 26, 12, 11} // column widths: layer, shape, params, trainable
	width := 0
	for _, c := range cols {
		width += c
	}
	row := func(fields ...string) {
		var b strings.Builder
		for i, f := range fields {
			cell := " " + f
			if len(cell) < cols[i] {
				cell += strings.Repeat(" ", cols[i]-len(cell))
			}
			b.WriteString(cell)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintf(w, "Model: %q\n", m.name)
	fmt.Fprintln(w, strings.Repeat("_", width))
	row("Layer (type)", "Output Shape", "Param #", "Trainable")
	fmt.Fprintln(w, strings.Repeat("=", width))
	shape := append([]int{1}, m.input...)
	row("input (InputLayer)", noneShape(shape), "0", "-")
	for _, l := range m.layers {
		fmt.Fprintln(w)
		out, err := l.OutputShape(shape)
		shapeText := "?"
		if err == nil {
			shape = out
			shapeText = noneShape(out)
		}
		count := 0
		for _, p := range l.Params() {
			count += p.Value.Size()
		}
		tr := "N"
		if l.Trainable() {
			tr = "Y"
		}
		row(fmt.Sprintf("%s (%s)", l.Name(), l.Type()), shapeText, commas(count), tr)
	}
	fmt.Fprintln(w, strings.Repeat("=", width))
	t, nt := m.CountParams()
	fmt.Fprintf(w, "Total params: %s\n", commas(t+nt))
	fmt.Fprintf(w, "Trainable params: %s\n", commas(t))
	fmt.Fprintf(w, "Non-trainable params: %s\n", commas(nt))
	fmt.Fprintln(w, strings.Repeat("_", width))
}

// noneShape formats a shape with "None" for the batch axis, like Keras.
func noneShape(s []int) string {
	parts := []string{"None"}
	for _, d := range s[1:] {
		parts = append(parts, fmt.Sprint(d))
	}
	if len(parts) == 1 {
		return "(None,)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// commas formats n with thousands separators: 14714688 -> "14,714,688".
func commas(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
