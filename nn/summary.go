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
//
// Keras 2 places the columns at fixed fractions of the line and cuts (or,
// in later versions, wraps) long cells; here each column has a minimum
// width (29, 26, 12, 11 characters, about Keras's Sequential layout) and
// grows to fit its longest cell plus one space, so rows such as
// "global_average_pooling2d (GlobalAveragePooling2D)" stay aligned instead
// of pushing the rest of their row to the right.
func (m *Model) Summary(w io.Writer) {
	// Collect the rows first: the column widths depend on every cell.
	rows := [][]string{{"input (InputLayer)", "", "0", "-"}}
	shape := append([]int{1}, m.input...)
	rows[0][1] = noneShape(shape)
	for _, l := range m.layers {
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
		rows = append(rows, []string{fmt.Sprintf("%s (%s)", l.Name(), l.Type()), shapeText, commas(count), tr})
	}
	cols := []int{29, 26, 12, 11} // minimum column widths: layer, shape, params, trainable
	for _, r := range rows {
		for i, f := range r {
			// A cell is " " + text and needs one space before the next column.
			cols[i] = max(cols[i], len(f)+2)
		}
	}
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
	row(rows[0]...)
	for _, r := range rows[1:] {
		fmt.Fprintln(w)
		row(r...)
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
