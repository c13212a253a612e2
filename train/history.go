package train

import (
	"bytes"
	"fmt"
	"strconv"
)

// historyCSVHeader lists the CSV columns. Keras's CSVLogger writes "epoch"
// first and then the logs' keys sorted alphabetically (accuracy, loss, lr,
// val_accuracy, val_loss); the extra column "seconds" comes last so the
// Keras columns keep their order.
var historyCSVHeader = []string{"epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss", "seconds"}

// HistoryCSV renders epochs the way Keras's CSVLogger does: comma
// separator, one row per epoch, floats in full precision (NaN for missing
// validation metrics), seconds with millisecond precision.
func HistoryCSV(h []EpochLog) []byte {
	var b bytes.Buffer
	for i, c := range historyCSVHeader {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
	}
	b.WriteByte('\n')
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, e := range h {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s,%s\n", e.Epoch, f(e.Accuracy), f(e.Loss), f(e.LR),
			f(e.ValAccuracy), f(e.ValLoss), strconv.FormatFloat(e.Seconds, 'f', 3, 64))
	}
	return b.Bytes()
}
