//go:build !linux

package train

import "os"

// ttyColumns returns 0: the width comes from $COLUMNS or defaults to 80.
func ttyColumns(*os.File) int { return 0 }
