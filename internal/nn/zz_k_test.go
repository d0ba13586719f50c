package nn

import "testing"

func gemmNNGo(c, a, b []float64, m, k, n int) {
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		ai := a[i*k : (i+1)*k]
		for p, v := range ai {
			if v == 0 {
				continue
			}
			bp := b[p*n : (p+1)*n]
			bp = bp[:len(ci)]
			for j := range ci {
				ci[j] += v * bp[j]
			}
		}
	}
}

// 4 rows of b at once: fewer passes over ci
func gemmNN4(c, a, b []float64, m, k, n int) {
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		ai := a[i*k : (i+1)*k]
		p := 0
		for ; p+4 <= k; p += 4 {
			v0, v1, v2, v3 := ai[p], ai[p+1], ai[p+2], ai[p+3]
			b0 := b[p*n : p*n+n][:len(ci)]
			b1 := b[(p+1)*n : (p+1)*n+n][:len(ci)]
			b2 := b[(p+2)*n : (p+2)*n+n][:len(ci)]
			b3 := b[(p+3)*n : (p+3)*n+n][:len(ci)]
			for j := range ci {
				ci[j] += v0*b0[j] + v1*b1[j] + v2*b2[j] + v3*b3[j]
			}
		}
		for ; p < k; p++ {
			v := ai[p]
			bp := b[p*n : (p+1)*n][:len(ci)]
			for j := range ci {
				ci[j] += v * bp[j]
			}
		}
	}
}

func benchK(b *testing.B, f func(c, a, bb []float64, m, k, n int), m, k, n int) {
	a, w, c := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
	for i := range a { a[i] = float64(i%7) + 1 }
	for i := range w { w[i] = float64(i%5) + 1 }
	for b.Loop() { f(c, a, w, m, k, n) }
}
func BenchmarkKAsm96x32x32(b *testing.B) { benchK(b, gemmNN, 96, 32, 32) }
func BenchmarkKGo96x32x32(b *testing.B)  { benchK(b, gemmNNGo, 96, 32, 32) }
func BenchmarkKGo4_96x32x32(b *testing.B)  { benchK(b, gemmNN4, 96, 32, 32) }
func BenchmarkKAsm64(b *testing.B) { benchK(b, gemmNN, 64, 64, 64) }
func BenchmarkKGo4_64(b *testing.B)  { benchK(b, gemmNN4, 64, 64, 64) }
func BenchmarkKAsm3072x32x96(b *testing.B) { benchK(b, gemmNN, 3072, 32, 96) }
func BenchmarkKGo4_3072x32x96(b *testing.B)  { benchK(b, gemmNN4, 3072, 32, 96) }
