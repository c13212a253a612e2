package nn

import (
	"github.com/gotransfer/gotransfer/tensor"
)

// Activation memory of Model.Forward.
//
// A layer that keeps nothing for Backward (every layer in inference, and the
// layers below the lowest trainable one in training) has an output that is
// dead as soon as the next layer has read it. Model.Forward runs that
// no-backward prefix of the model as a stream:
//
//   - Buffers. Outputs go into buffers of the model's activation pool and go
//     back to it once consumed, so a forward pass allocates nothing after the
//     first one and holds about two activations at a time, not all of them.
//   - Micro-batches. The prefix is cut into segments of consecutive layers;
//     each segment runs its layers image chunk by image chunk (chunk ≤ N),
//     so the big early activations exist only for a few images at a time.
//     Only a segment's last output exists for the whole batch. Every layer
//     here computes each sample independently (and the GEMM reduction order
//     of a row does not depend on the number of rows), so the result is
//     bit-identical to one whole-batch pass (TestMicroBatchBitIdentical).
//
// Chunk sizes come from a byte budget (SetMicroBatchBytes, default
// DefaultMicroBatchBytes): a layer's ideal chunk is budget / (its per-sample
// input or output bytes, whichever is larger), clamped to [1, N]. A segment
// grows until the next layer's ideal chunk is at least twice the segment's
// chunk and the whole-batch buffer between the two segments fits the
// budget; only then is a new, larger-chunk segment worth that buffer. For
// VGG16 at 224, batch 16 and 32 MiB: blocks 1–2 run in chunks of 2 images,
// block3 in chunks of 8 and blocks 4–5 whole; the stream then holds at most
// about 90 MB of activations (a whole-batch pass: 410 MB).
//
// Layers from the lowest trainable one up (training only) run on the whole
// batch and write into per-layer buffers kept across steps: they are the
// activations Backward needs. The model's final output is always a new
// tensor: the caller owns it.

// DefaultMicroBatchBytes is the default per-activation byte budget that
// sets the micro-batch size of the no-backward prefix (see Model.Forward).
const DefaultMicroBatchBytes = 32 << 20

// SetMicroBatchBytes sets the byte budget that sizes the micro-batches of
// the no-backward prefix; 0 or less runs it on the whole batch (buffers are
// still pooled). Results do not depend on it.
func (m *Model) SetMicroBatchBytes(n int64) {
	if n <= 0 {
		n = -1
	}
	m.chunkBytes = n
	m.plans = nil
}

// BufferStats reports the activation pool: pooled is the bytes of all its
// buffers (allocated once, reused by every Forward), peakInUse the largest
// number of bytes lent out at once during the last Forward. Buffers kept for
// Backward and the returned output are not counted.
func (m *Model) BufferStats() (pooled, peakInUse int64) { return m.pool.total, m.pool.peak }

// ReleaseBuffers drops the activation pool and the per-layer buffers so the
// garbage collector can reclaim them; the next Forward allocates again.
func (m *Model) ReleaseBuffers() {
	m.pool = bufPool{}
	m.own = nil
	m.shared.wino.release()
	for _, l := range m.layers {
		if b := baseOf(l); b != nil {
			b.dx = nil
		}
	}
}

// bufPool lends float32 buffers: get returns the smallest free buffer that
// is big enough (or a new one), put takes it back. The same sequence of
// requests every step makes the same choices, so after the first step
// nothing is allocated.
type bufPool struct {
	free        [][]float32
	total       int64 // bytes of all buffers made
	inUse, peak int64 // bytes lent out now, and the most during this Forward
}

func (p *bufPool) get(n int) []float32 {
	best := -1
	for i, b := range p.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
	}
	var b []float32
	if best >= 0 {
		b = p.free[best][:n]
		last := len(p.free) - 1
		p.free[best], p.free[last] = p.free[last], nil
		p.free = p.free[:last]
	} else {
		b = make([]float32, n)
		p.total += 4 * int64(n)
	}
	p.inUse += 4 * int64(cap(b))
	p.peak = max(p.peak, p.inUse)
	return b
}

func (p *bufPool) put(b []float32) {
	if b == nil {
		return
	}
	p.inUse -= 4 * int64(cap(b))
	p.free = append(p.free, b[:cap(b)])
}

// segment is layers [from, to) run in micro-batches of chunk images.
type segment struct{ from, to, chunk int }

// streamPlan caches the segments for one (batch, prefix) pair.
type streamPlan struct {
	n, prefix int
	segs      []segment
}

// sampleShape returns layer i's output shape for one sample (no batch
// axis), computed once per model layout.
func (m *Model) sampleShape(i int) tensor.Shape {
	if len(m.samples) != len(m.layers) {
		m.samples = make([]tensor.Shape, len(m.layers))
		s := append(tensor.Shape{1}, m.input...)
		for j, l := range m.layers {
			s, _ = l.OutputShape(s) // validated by Add
			m.samples[j] = s[1:]
		}
	}
	return m.samples[i]
}

// sampleBytes is the per-sample input or output size of layer i in bytes, whichever is larger.
func (m *Model) sampleBytes(i int) int64 {
	in := m.input.Size()
	if i > 0 {
		in = m.sampleShape(i - 1).Size()
	}
	return 4 * int64(max(in, m.sampleShape(i).Size()))
}

// segments returns the micro-batch plan of layers [0, prefix) for batch n.
func (m *Model) segments(n, prefix int) []segment {
	for _, p := range m.plans {
		if p.n == n && p.prefix == prefix {
			return p.segs
		}
	}
	budget := m.chunkBytes
	if budget == 0 {
		budget = DefaultMicroBatchBytes
	}
	ideal := func(i int) int {
		if budget < 0 {
			return n
		}
		return int(min(int64(n), max(1, budget/max(1, m.sampleBytes(i)))))
	}
	var segs []segment
	for i := 0; i < prefix; {
		if baseOf(m.layers[i]) == nil { // not ours: run it alone on the whole batch
			segs = append(segs, segment{i, i + 1, n})
			i++
			continue
		}
		chunk, j := ideal(i), i+1
		for ; j < prefix && baseOf(m.layers[j]) != nil; j++ {
			id := ideal(j)
			boundary := int64(n) * 4 * int64(m.sampleShape(j-1).Size()) // whole-batch input of layer j
			if id >= 2*chunk && boundary <= budget {
				break
			}
			chunk = min(chunk, id)
		}
		k := (n + chunk - 1) / chunk // balance: k chunks of nearly equal size
		segs = append(segs, segment{i, j, (n + k - 1) / k})
		i = j
	}
	m.plans = append(m.plans, streamPlan{n, prefix, segs})
	return segs
}

// view points the reusable header t at data with shape (n, sample...).
func view(t *tensor.Tensor, data []float32, n int, sample tensor.Shape) *tensor.Tensor {
	if t == nil {
		t = &tensor.Tensor{}
	}
	t.Shape = append(append(t.Shape[:0], n), sample...)
	t.Data = data[:n*sample.Size()]
	return t
}

// sameData reports whether a and b start at the same element.
func sameData(a, b *tensor.Tensor) bool {
	return len(a.Data) > 0 && len(b.Data) > 0 && &a.Data[0] == &b.Data[0]
}

// ownOutput returns layer i's kept-across-steps output buffer for batch n.
func (m *Model) ownOutput(i, n int) *tensor.Tensor {
	if len(m.own) != len(m.layers) {
		m.own = make([]*tensor.Tensor, len(m.layers))
	}
	s := m.sampleShape(i)
	if t := m.own[i]; t != nil && t.Shape[0] == n {
		return t
	}
	m.own[i] = view(nil, make([]float32, n*s.Size()), n, s)
	return m.own[i]
}

// stream runs layers [0, prefix) on x (see the comment at the top of this
// file) and returns their output for the whole batch: a new tensor when
// prefix is the last layer, a kept buffer when a training layer above
// reads it, or a foreign layer's own output.
func (m *Model) stream(x *tensor.Tensor, prefix int, training bool) *tensor.Tensor {
	n := x.Shape[0]
	L := len(m.layers)
	if len(m.hdr) != 2*L+2 {
		m.hdr = make([]tensor.Tensor, 2*L+2)
	}
	cur := x             // the whole-batch input of the next segment
	var curBuf []float32 // pool buffer behind cur (nil: not the pool's)
	for si, s := range m.segments(n, prefix) {
		last := s.to - 1
		if b := baseOf(m.layers[last]); b == nil { // a foreign layer: run as is
			y := m.layers[last].Forward(cur, training)
			if !sameData(y, cur) {
				m.pool.put(curBuf)
				curBuf = nil
			}
			cur = y
			m.noteRetained()
			continue
		}
		// The segment's whole-batch output.
		var out *tensor.Tensor
		var outBuf []float32
		switch {
		case last == len(m.layers)-1:
			out = tensor.New(append(tensor.Shape{n}, m.sampleShape(last)...)...) // the caller's
		case last == prefix-1 && training:
			out = m.ownOutput(last, n) // read by the trainable layer above, kept
		default:
			outBuf = m.pool.get(n * m.sampleShape(last).Size())
			out = view(&m.hdr[2*L+si%2], outBuf, n, m.sampleShape(last)) // cur may hold the other one
		}
		per := len(cur.Data) / n // n > 0: Forward runs empty batches layer by layer
		for lo := 0; lo < n; lo += s.chunk {
			hi := min(n, lo+s.chunk)
			c := hi - lo
			in := view(&m.hdr[2*s.from], cur.Data[lo*per:], c, cur.Shape[1:])
			var inBuf []float32 // pool buffer behind in, when a layer of this chunk made it
			for i := s.from; i < s.to; i++ {
				sample := m.sampleShape(i)
				var dst *tensor.Tensor
				var dstBuf []float32
				if i == last {
					dst = view(&m.hdr[2*i+1], out.Data[lo*sample.Size():], c, sample)
				} else {
					dstBuf = m.pool.get(c * sample.Size())
					dst = view(&m.hdr[2*i+1], dstBuf, c, sample)
				}
				b := baseOf(m.layers[i])
				b.dst = dst
				y := m.layers[i].Forward(in, training)
				b.dst = nil
				switch {
				case sameData(y, dst): // written into dst
					m.pool.put(inBuf)
					in, inBuf = y, dstBuf
				case sameData(y, in): // a view of its input (Flatten, inference Dropout)
					if i == last {
						copy(dst.Data, y.Data)
						m.pool.put(inBuf)
						in, inBuf = dst, nil
					} else {
						m.pool.put(dstBuf)
						in = y
					}
				default: // a new tensor of its own
					if i == last {
						copy(dst.Data, y.Data)
						y = dst
					} else {
						m.pool.put(dstBuf)
					}
					m.pool.put(inBuf)
					in, inBuf = y, nil
				}
			}
		}
		m.pool.put(curBuf)
		cur, curBuf = out, outBuf
		m.noteRetained()
	}
	if curBuf != nil { // a foreign layer returned a view of a pool buffer: do not hand that out
		var t *tensor.Tensor
		if prefix == L {
			t = tensor.New(cur.Shape...)
		} else {
			t = m.ownOutput(prefix-1, n)
		}
		copy(t.Data, cur.Data)
		m.pool.put(curBuf)
		cur = t
	}
	return cur
}

// noteRetained updates the high-water mark of the bytes kept for Backward.
func (m *Model) noteRetained() {
	m.highWater = max(m.highWater, m.RetainedBytes())
}
