package main

import "math"

func expf(x float64) float64 { return math.Exp(x) }
